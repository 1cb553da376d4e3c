"""The image index: ``<data root>/images`` is an OCI image layout (``oci-layout``,
``index.json``, ``blobs`` → ``../content/blobs``), so tools such as skopeo or umoci can read
the store, and names live in one small file instead of a database.

Each ``index.json`` entry is a manifest descriptor; a named one carries the annotation
``org.opencontainers.image.ref.name`` = canonical reference (``docker.io/library/busybox:latest``).
A manifest kept without any name (a "dangling" image, ``<none>:<none>`` in Docker) has one entry
without that annotation. Readers take no lock (the file is replaced atomically); writers
read-modify-write under an fcntl lock on ``index.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.content import fsync_dir
from engine.errors import EngineError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TAR_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER_GZIP_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYOUT_VERSION = "1.0.0"


def canonical_json(value: Any) -> bytes:
    """Deterministic bytes, so equal content gets equal digests (stable image ids)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_file_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """temp + fsync + rename + fsync(dir): readers see the old file or the new one."""
    import tempfile  # a write path: not every command's start-up (~2.5 ms)

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    fsync_dir(path.parent)


@dataclass(frozen=True)
class IndexEntry:
    """One manifest descriptor in ``index.json``; ``ref_name`` None marks a dangling image."""

    digest: str
    size: int
    media_type: str = MANIFEST_MEDIA_TYPE
    ref_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        descriptor: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.ref_name is not None:
            descriptor["annotations"] = {REF_NAME_ANNOTATION: self.ref_name}
        return descriptor

    @classmethod
    def from_json(cls, descriptor: dict[str, Any]) -> IndexEntry:
        annotations = descriptor.get("annotations") or {}
        return cls(
            digest=descriptor["digest"],
            size=int(descriptor["size"]),
            media_type=descriptor.get("mediaType", MANIFEST_MEDIA_TYPE),
            ref_name=annotations.get(REF_NAME_ANNOTATION),
        )


class ImageIndex:
    """``index.json`` of the layout at ``root`` (``<data root>/images``)."""

    def __init__(self, root: Path, blobs_dir: Path) -> None:
        self.root = root
        self.index_path = root / "index.json"
        self.lock_path = root / "index.lock"
        self._blobs_dir = blobs_dir
        # index.json's bytes -> its entries: `up` read and parsed it a few times per container
        # (by content, not by stat: a replaced file may reuse an inode within a clock tick)
        self._cached: tuple[bytes, list[IndexEntry]] | None = None

    def _ensure_layout(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        layout = self.root / "oci-layout"
        if not layout.exists():
            write_file_atomic(layout, canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        blobs = self.root / "blobs"
        if not blobs.exists() and not blobs.is_symlink():
            with contextlib.suppress(FileExistsError):
                os.symlink(os.path.relpath(self._blobs_dir.parent, self.root), blobs)

    def read(self) -> list[IndexEntry]:
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            return []
        if self._cached is not None and self._cached[0] == raw:
            return list(self._cached[1])
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise EngineError(
                f"image index {self.index_path} is corrupt: {exc}",
                subject=str(self.index_path),
            ) from exc
        entries = [IndexEntry.from_json(d) for d in data.get("manifests", [])]
        self._cached = (raw, entries)
        return list(entries)

    def _write(self, entries: list[IndexEntry]) -> None:
        document = {
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [entry.to_json() for entry in entries],
        }
        write_file_atomic(self.index_path, canonical_json(document))

    @contextlib.contextmanager
    def update(self) -> Iterator[list[IndexEntry]]:
        """Lock, read, let the caller edit the list in place, write back if it changed."""
        self._ensure_layout()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            entries = self.read()
            before = list(entries)
            yield entries
            if entries != before:
                self._write(entries)
        finally:
            os.close(fd)
