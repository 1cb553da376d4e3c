"""Content-addressed blob store (``<data root>/content/blobs/sha256/<hex>``), like containerd's.

Blobs are immutable and named by their sha256, so readers never need a lock: a blob either
exists complete (it was fsynced before the atomic rename) or not at all. Writers stream into
``content/ingest/`` while hashing, so a multi-GB layer never sits in memory, and the digest is
verified before the blob becomes visible.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ContentNotFoundError, DigestMismatchError, InvalidArgumentError
from engine.processes import owner_gone, owner_tag

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import BinaryIO

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$", re.ASCII)
_CHUNK = 1 << 20
_INGEST_PREFIX = "blob-"
_INGEST_SUFFIX = ".tmp"
# A partial blob not named after its writer (made by an older release) is garbage once not
# written for this long: no download stalls an hour without failing.
UNTAGGED_INGEST_AGE = 3600.0


def validate_digest(digest: str) -> str:
    """Return the hex part of a ``sha256:<hex>`` digest; other algorithms are not stored."""
    if not _DIGEST_RE.match(digest):
        raise InvalidArgumentError(
            f"invalid or unsupported digest {digest!r}: expected sha256:<64 lowercase hex>",
            subject=digest,
        )
    return digest[len("sha256:") :]


def sha256_digest(data: bytes) -> str:
    if len(data) <= _SMALL:  # a config or manifest, verified on every container create
        from engine.small_sha256 import sha256
    else:
        from hashlib import sha256  # OpenSSL's: much faster per byte, but ~3 ms to load

    return "sha256:" + sha256(data).hexdigest()


_SMALL = 1 << 16


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Blob:
    """Where a blob landed: enough to build an OCI descriptor."""

    digest: str
    size: int


class BlobWriter:
    """An in-progress blob: bytes go to a temp file in ``ingest/`` and into the hash.

    ``commit`` fsyncs, verifies the digest and size, and renames into place; leaving the
    ``ContentStore.writer`` block without committing removes the temp file. The temp file is
    readable (``temp_path``) before commit, so callers can validate content first.
    """

    def __init__(self, store: ContentStore, handle: BinaryIO, temp_path: Path) -> None:
        self._store = store
        self._handle = handle
        self.temp_path = temp_path
        import hashlib

        self._hash = hashlib.sha256()
        self._size = 0
        self.committed: Blob | None = None

    @property
    def size(self) -> int:
        return self._size

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def write(self, data: bytes) -> int:
        self._handle.write(data)
        self._hash.update(data)
        self._size += len(data)
        return len(data)

    def copy_from(self, src: BinaryIO) -> None:
        while chunk := src.read(_CHUNK):
            self.write(chunk)

    def flush(self) -> None:
        """Push buffered bytes to the temp file so ``temp_path`` can be read before commit."""
        self._handle.flush()

    def commit(self, expected_digest: str | None = None, expected_size: int | None = None) -> Blob:
        digest = self.digest
        if expected_digest is not None and digest != expected_digest:
            raise DigestMismatchError(
                f"content digest mismatch: expected {expected_digest}, got {digest}",
                subject=expected_digest,
            )
        if expected_size is not None and self._size != expected_size:
            raise DigestMismatchError(
                f"content size mismatch for {digest}: expected {expected_size}, got {self._size}",
                subject=digest,
            )
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        target = self._store.path(digest)
        if target.exists():
            # Same digest, same bytes: keep the existing blob, whose inode readers may hold.
            self.temp_path.unlink(missing_ok=True)
        else:
            os.chmod(self.temp_path, 0o444)
            os.replace(self.temp_path, target)
            fsync_dir(target.parent)
        self.committed = Blob(digest, self._size)
        return self.committed


class ContentStore:
    """Blobs by digest under ``root`` (``<data root>/content``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.ingest = root / "ingest"

    def _ensure_dirs(self) -> None:
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.ingest.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.blobs / validate_digest(digest)

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise self._missing(digest) from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise self._missing(digest) from None

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        """Small blobs (manifests, configs) in full; verified because they are trusted next."""
        with self.open(digest) as handle:
            data = handle.read()
        if verify and sha256_digest(data) != digest:
            raise DigestMismatchError(
                f"blob {digest} is corrupt: its content no longer matches its digest",
                subject=digest,
                hint="remove the blob file and import or pull the image again",
            )
        return data

    @contextlib.contextmanager
    def writer(self) -> Iterator[BlobWriter]:
        """Stream a new blob; see BlobWriter. Aborts (removes the temp file) unless committed."""
        self._ensure_dirs()
        import tempfile  # a write path: not every command's start-up (~2.5 ms)

        prefix = f"{_INGEST_PREFIX}{owner_tag()}-"  # whose it is: see sweep_ingest
        fd, name = tempfile.mkstemp(dir=self.ingest, prefix=prefix, suffix=_INGEST_SUFFIX)
        temp_path = Path(name)
        handle = os.fdopen(fd, "wb")
        blob_writer = BlobWriter(self, handle, temp_path)
        try:
            yield blob_writer
        finally:
            if blob_writer.committed is None:
                handle.close()
                temp_path.unlink(missing_ok=True)

    def put_file(
        self, src: BinaryIO, expected_digest: str | None = None, expected_size: int | None = None
    ) -> Blob:
        """Stream ``src`` into the store; sha256 computed while writing and verified."""
        with self.writer() as blob_writer:
            blob_writer.copy_from(src)
            return blob_writer.commit(expected_digest, expected_size)

    def put_bytes(self, data: bytes, expected_digest: str | None = None) -> Blob:
        digest = sha256_digest(data)
        if expected_digest is not None and digest != expected_digest:
            raise DigestMismatchError(
                f"content digest mismatch: expected {expected_digest}, got {digest}",
                subject=expected_digest,
            )
        if self.exists(digest):
            return Blob(digest, len(data))
        with self.writer() as blob_writer:
            blob_writer.write(data)
            return blob_writer.commit(digest)

    def sweep_ingest(self, untagged_age: float = UNTAGGED_INGEST_AGE) -> tuple[int, int]:
        """Remove the partial blobs of writers that are gone (a pull or build killed with
        SIGKILL cleans nothing up): each is named after its writer's pid and start time, so
        a live writer's — a concurrent pull — stays. One without that tag (an older release
        made it) goes once not written for `untagged_age` seconds. Returns (files, bytes)."""
        try:
            entries = list(os.scandir(self.ingest))
        except OSError:
            return 0, 0
        now = time.time()
        files = size = 0
        for entry in entries:
            name = entry.name
            if not (name.startswith(_INGEST_PREFIX) and name.endswith(_INGEST_SUFFIX)):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                gone = owner_gone(name.removeprefix(_INGEST_PREFIX).split("-", 1)[0])
                if gone is None:
                    gone = now - st.st_mtime > untagged_age
                if gone:
                    os.unlink(entry.path)
                    files += 1
                    size += st.st_size
        return files, size

    def delete(self, digest: str) -> None:
        """Drop a blob (garbage collection); missing blobs are fine."""
        self.path(digest).unlink(missing_ok=True)

    def digests(self) -> list[str]:
        if not self.blobs.is_dir():
            return []
        return sorted("sha256:" + p.name for p in self.blobs.iterdir() if _is_hex64(p.name))

    @staticmethod
    def _missing(digest: str) -> ContentNotFoundError:
        return ContentNotFoundError(
            f"content {digest} not found in the content store",
            subject=digest,
            hint="the image is damaged: remove it and import or pull it again",
        )


def _is_hex64(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)
