"""The engine's image store: names → OCI manifests → config + layers, and ``import``.

Built from three single-purpose parts: ``content`` (blobs by digest), ``image_layout``
(``index.json`` names) and ``snapshots`` (unpacked layers for overlayfs). This module adds
the image model and Docker's lookup rules (name, full id, short id prefix).

Imported layers are stored **uncompressed** (``application/vnd.oci.image.layer.v1.tar``): the
blob digest then *is* the diff_id (one hash, no second pass), import and unpack pay no gzip
cost (gzip -6 runs at ~20-40 MB/s, far below tar), and the output is byte-for-byte
reproducible whatever compressor produced the input. Disk cost is the uncompressed size, which
the snapshot needs anyway; compression belongs to ``push``, where bytes cross a network.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from engine.content import ContentStore
from engine.errors import (
    AmbiguousReferenceError,
    ContentNotFoundError,
    ImageInUseError,
    ImageNotFoundError,
    InvalidArgumentError,
)
from engine.image_layout import (
    CONFIG_MEDIA_TYPE,
    DOCKER_LAYER_GZIP_MEDIA_TYPE,
    LAYER_GZIP_MEDIA_TYPE,
    LAYER_TAR_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    ImageIndex,
    IndexEntry,
    canonical_json,
)
from engine.references import Reference, parse_reference
from engine.snapshots import Compression, SnapshotStore, chain_ids, scan_layer

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any, BinaryIO

_FULL_ID_RE = re.compile(r"^(?:sha256:)?([a-f0-9]{64})$", re.ASCII)
_ID_PREFIX_RE = re.compile(r"^(?:sha256:)?([a-f0-9]{1,64})$", re.ASCII)
_ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
_LAYER_COMPRESSION = {
    LAYER_TAR_MEDIA_TYPE: Compression.NONE,
    "application/vnd.docker.image.rootfs.diff.tar": Compression.NONE,
    LAYER_GZIP_MEDIA_TYPE: Compression.GZIP,
    DOCKER_LAYER_GZIP_MEDIA_TYPE: Compression.GZIP,
}


def host_architecture() -> str:
    """GOARCH spelling of the host CPU, as image configs record it."""
    machine = os.uname().machine.lower()  # what platform.machine() returns, without its import
    return _ARCHITECTURES.get(machine, machine)


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _normalize_port(port: str) -> str:
    return port if "/" in port else f"{port}/tcp"


@dataclass(frozen=True)
class ImageConfig:
    """The runtime defaults of an image (the OCI config's ``config`` object)."""

    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def to_oci(self) -> dict[str, Any]:
        """Docker's capitalized keys; empty fields are left out, like Docker's omitempty."""
        out: dict[str, Any] = {}
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {_normalize_port(p): {} for p in self.exposed_ports}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {v: {} for v in self.volumes}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        return out

    @classmethod
    def from_oci(cls, obj: dict[str, Any] | None) -> ImageConfig:
        obj = obj or {}

        def strings(key: str) -> tuple[str, ...] | None:
            value = obj.get(key)
            return None if value is None else tuple(str(v) for v in value)

        return cls(
            env=strings("Env") or (),
            cmd=strings("Cmd"),
            entrypoint=strings("Entrypoint"),
            working_dir=obj.get("WorkingDir") or "",
            user=obj.get("User") or "",
            labels={str(k): str(v) for k, v in (obj.get("Labels") or {}).items()},
            stop_signal=obj.get("StopSignal") or None,
            exposed_ports=tuple(sorted(obj.get("ExposedPorts") or {})),
            volumes=tuple(sorted(obj.get("Volumes") or {})),
        )


@dataclass(frozen=True)
class Image:
    """An image as the rest of the engine sees it (what ``docker image inspect`` shows)."""

    id: str
    repo_tags: tuple[str, ...]
    manifest_digest: str
    created: str
    size: int
    diff_ids: tuple[str, ...]
    config: ImageConfig
    architecture: str = ""
    os: str = ""

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


@dataclass(frozen=True)
class _Loaded:
    """Parsed, immutable blobs of one manifest (cached: blobs never change)."""

    image: Image  # without repo_tags
    layers: tuple[tuple[str, str], ...]  # (digest, media type) bottom first


def _bad_tarball(tarball: Path, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"cannot import {tarball}: {why}",
        subject=str(tarball),
        hint="import expects a tar archive (plain, gzip, bzip2 or xz compressed)",
    )


def _decompressor(magic: bytes) -> Callable[[BinaryIO], BinaryIO] | None:
    """Pick a decompressor by magic bytes, as ``docker import`` does; None = plain tar."""
    import bz2
    import gzip
    import lzma

    if magic.startswith(b"\x1f\x8b"):
        return lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic.startswith(b"BZh"):
        return lambda raw: bz2.BZ2File(raw, "rb")  # type: ignore[return-value]
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lambda raw: lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
    return None


_Entries = list[IndexEntry]
_Images = list[Image]
_Paths = list[Path]
_NamePairs = list[tuple[str, str]]


class ImageStore:
    """Images under a data root: ``content/``, ``images/`` (OCI layout), ``snapshots/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.content = ContentStore(root / "content")
        self.index = ImageIndex(root / "images", self.content.blobs)
        self.snapshots = SnapshotStore(root / "snapshots")
        self._loaded: dict[str, _Loaded] = {}

    # ----------------------------------------------------------------- import

    def import_tarball(
        self, tarball: Path, reference: str | None, *, changes: ImageConfig | None = None
    ) -> Image:
        """``docker import``: the whole tarball becomes one layer of a new image.

        The image is reproducible: ``created`` is the newest mtime in the archive (not "now"),
        so importing the same tarball twice yields the same image id.
        """
        import lzma
        import zlib

        ref = self._tag_reference(reference) if reference is not None else None
        try:
            raw = open(tarball, "rb")  # noqa: SIM115 - closed by the with-block below
        except FileNotFoundError:
            raise InvalidArgumentError(
                f"cannot import {tarball}: no such file", subject=str(tarball)
            ) from None
        except OSError as exc:
            raise _bad_tarball(tarball, exc.strerror or str(exc)) from exc
        with raw, self.content.writer() as writer:
            magic = raw.read(6)
            if not magic:
                raise _bad_tarball(tarball, "the file is empty")
            if magic.startswith(b"\x28\xb5\x2f\xfd"):
                raise _bad_tarball(tarball, "zstd compression is not supported; decompress first")
            opener = _decompressor(magic)
            raw.seek(0)
            stream: BinaryIO = opener(raw) if opener else raw
            try:
                writer.copy_from(stream)
            except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
                raise _bad_tarball(tarball, f"cannot decompress: {exc}") from exc
            finally:
                if stream is not raw:
                    stream.close()
            writer.flush()
            try:
                scan = scan_layer(writer.temp_path)
            except InvalidArgumentError as exc:
                raise _bad_tarball(tarball, exc.message) from exc
            layer = writer.commit()
        created = rfc3339(scan.max_mtime)
        config_doc = {
            "architecture": host_architecture(),
            "os": "linux",
            "created": created,
            "config": (changes or ImageConfig()).to_oci(),
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
            "history": [{"created": created, "created_by": "pycompose import"}],
        }
        config = self.content.put_bytes(canonical_json(config_doc))
        manifest_doc = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "digest": config.digest,
                "size": config.size,
            },
            "layers": [
                {"mediaType": LAYER_TAR_MEDIA_TYPE, "digest": layer.digest, "size": layer.size}
            ],
        }
        manifest = self.content.put_bytes(canonical_json(manifest_doc))
        entry = IndexEntry(digest=manifest.digest, size=manifest.size)
        with self.index.update() as entries:
            if ref is not None:
                _set_name(entries, entry, ref.canonical())
            elif not any(e.digest == entry.digest for e in entries):
                entries.append(entry)
        return self.get(ref.canonical() if ref is not None else manifest.digest)

    # ----------------------------------------------------------------- lookup

    def get(self, reference_or_id: str) -> Image:
        """The image named or identified by ``reference_or_id``; ImageNotFoundError if none."""
        image = self.find(reference_or_id)
        if image is None:
            raise ImageNotFoundError(
                f"image {_display(reference_or_id)} not found: import or pull it first",
                subject=reference_or_id,
                hint="pycompose image import FILE NAME, or pull it from a registry",
            )
        return image

    def find(self, reference_or_id: str) -> Image | None:
        """Like ``get`` but None when absent. Order as Docker: full id, name, id prefix."""
        entries = self.index.read()
        match = self._match(entries, reference_or_id)
        if match is None:
            return None
        return self._image(match[0], entries)

    def list(self) -> _Images:
        """All images, newest first (``docker images`` order), dangling ones included."""
        entries = self.index.read()
        digests = list(dict.fromkeys(e.digest for e in entries))
        images = [self._image(d, entries) for d in digests]
        images.sort(key=lambda i: i.id)
        images.sort(key=lambda i: i.created, reverse=True)
        return images

    # ----------------------------------------------------------------- names

    def tag(self, source: str, target: str) -> None:
        """Point ``target`` at the image ``source`` resolves to (moving it if it existed)."""
        ref = self._tag_reference(target)
        with self.index.update() as entries:
            match = self._match(entries, source)
            if match is None:
                raise ImageNotFoundError(
                    f"image {_display(source)} not found: import or pull it first",
                    subject=source,
                )
            digest = match[0]
            current = next(e for e in entries if e.digest == digest)
            _set_name(entries, replace(current, ref_name=None), ref.canonical())

    def remove(self, reference: str, keep_untagged: bool = False) -> None:
        """``docker rmi`` without force: by name, untag (drop the image with its last name);
        by id, drop the image unless several names still point at it. `keep_untagged`: an
        image losing its last name stays as a dangling one (a container still needs it)."""
        with self.index.update() as entries:
            match = self._match(entries, reference)
            if match is None:
                raise ImageNotFoundError(
                    f"image {_display(reference)} not found", subject=reference
                )
            digest, matched_names = match
            first = next(e for e in entries if e.digest == digest)
            if matched_names:
                entries[:] = [e for e in entries if e not in matched_names]
                if any(e.digest == digest and e.ref_name for e in entries):
                    return
            else:
                names = [e for e in entries if e.digest == digest and e.ref_name]
                if len(names) > 1:
                    short = self._loaded_for(digest).image.short_id
                    raise ImageInUseError(
                        f"conflict: unable to delete {short} (must be forced) - image is"
                        f" referenced in multiple repositories",
                        subject=reference,
                        hint="remove the names one by one",
                    )
            entries[:] = [e for e in entries if e.digest != digest]
            if keep_untagged:
                entries.append(replace(first, ref_name=None))

    # ----------------------------------------------------------------- layers

    def layer_paths(self, image: Image) -> _Paths:
        """Unpacked snapshot dirs for overlayfs ``lowerdir``, **top layer first**.

        Each layer is unpacked on first use only, once per chain id, shared by all images and
        safe against concurrent callers in other processes (see SnapshotStore.ensure).
        """
        loaded = self._loaded_for(image.manifest_digest)
        paths: _Paths = []
        for (digest, media_type), chain_id in zip(
            loaded.layers, chain_ids(image.diff_ids), strict=True
        ):
            blob = self.content.path(digest)
            if not blob.is_file():
                raise ContentNotFoundError(
                    f"layer {digest} of image {image.short_id} is missing from the content store",
                    subject=image.id,
                    hint="remove the image and import or pull it again",
                )
            path, _ = self.snapshots.ensure(chain_id, blob, _LAYER_COMPRESSION[media_type])
            paths.append(path)
        paths.reverse()
        return paths

    def layer_sizes(self, image: Image) -> tuple[int, ...]:
        """Each layer's content size, bottom layer first: the bytes of its files, as Docker's
        `history` shows a layer (its diff's size on disk), not its tar's (headers and the
        end-of-archive padding made a step that changed nothing 10.2kB)."""
        return tuple(_content_size(path) for path in reversed(self.layer_paths(image)))

    # ----------------------------------------------------------------- registry, archives, build

    def add_manifest(
        self, manifest: bytes, names: tuple[str, ...] = (), *, media_type: str | None = None
    ) -> Image:
        """Register a manifest whose config and layer blobs are already in the content store.

        ``names`` are references (``x:tag`` or ``x@sha256:…``); none keeps a dangling image.
        The manifest is parsed (and so validated) before the index changes.
        """
        blob = self.content.put_bytes(manifest)
        doc = _json(manifest)
        kind = media_type or doc.get("mediaType") or MANIFEST_MEDIA_TYPE
        for descriptor in (doc.get("config") or {}, *doc.get("layers", [])):
            if not self.content.exists(descriptor.get("digest", "")):
                raise ContentNotFoundError(
                    f"manifest {blob.digest} names blob {descriptor.get('digest')} which is"
                    " not in the content store",
                    subject=blob.digest,
                )
        self._loaded.pop(blob.digest, None)
        self._loaded_for(blob.digest)
        entry = IndexEntry(digest=blob.digest, size=blob.size, media_type=kind)
        with self.index.update() as entries:
            for name in names:
                ref = parse_reference(name)
                _set_name(entries, entry, ref.canonical())
            if not names and not any(e.digest == entry.digest for e in entries):
                entries.append(entry)
        return self._image(blob.digest, self.index.read())

    def image_for_manifest(self, manifest_digest: str) -> Image:
        """The image a stored manifest describes, registered in the index or not (builder)."""
        return self._loaded_for(manifest_digest).image

    def drop_dangling(self, manifest_digest: str) -> None:
        """Remove the nameless index entry of ``manifest_digest`` (a builder's temporary)."""
        with self.index.update() as entries:
            entries[:] = [
                e for e in entries if not (e.digest == manifest_digest and e.ref_name is None)
            ]

    def manifest(self, image: Image) -> dict[str, Any]:
        """The image's manifest document (verified against its digest)."""
        return _json(self.content.read_bytes(image.manifest_digest))

    def config_document(self, image: Image) -> dict[str, Any]:
        """The full OCI image config (history, rootfs, every config key incl. Healthcheck)."""
        return _json(self.content.read_bytes(image.id))

    def repo_digests(self, image: Image) -> tuple[str, ...]:
        """``name@sha256:…`` names recorded by pull and push (Docker's ``RepoDigests``)."""
        return tuple(
            sorted(
                {
                    parse_reference(e.ref_name).familiar_name + "@" + e.digest
                    for e in self.index.read()
                    if e.digest == image.manifest_digest and e.ref_name and "@" in e.ref_name
                }
            )
        )

    def index_names(self) -> _NamePairs:
        """(canonical name, manifest digest) of every named entry; for cross-repo mounts."""
        return [(e.ref_name, e.digest) for e in self.index.read() if e.ref_name]

    def gc(
        self, *, keep_manifests: tuple[str, ...] = (), grace_seconds: float = 60.0
    ) -> tuple[int, int]:
        """Delete blobs and snapshots no index entry (nor ``keep_manifests``) reaches, and the
        partial blobs of killed writers (ContentStore.sweep_ingest).

        Returns (blobs removed, bytes freed). Blobs younger than ``grace_seconds`` are kept: a
        concurrent pull or build may have written them but not registered its manifest yet.
        """
        import time

        _, freed_partial = self.content.sweep_ingest()
        live: set[str] = set()
        chains: set[str] = set()
        for digest in {*(e.digest for e in self.index.read()), *keep_manifests}:
            live.add(digest)
            try:
                doc = _json(self.content.read_bytes(digest))
                loaded = self._loaded_for(digest)
            except (ContentNotFoundError, InvalidArgumentError):
                continue
            live.add(doc["config"]["digest"])
            live.update(d["digest"] for d in doc.get("layers", []))
            chains.update(chain_ids(loaded.image.diff_ids))
        removed, freed = 0, freed_partial
        now = time.time()
        for digest in self.content.digests():
            path = self.content.path(digest)
            if digest in live:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if now - st.st_mtime < grace_seconds:
                continue
            self.content.delete(digest)
            self._loaded.pop(digest, None)
            removed += 1
            freed += st.st_size
        if self.snapshots.root.is_dir():
            for snap in self.snapshots.root.iterdir():
                if len(snap.name) == 64 and f"sha256:{snap.name}" not in chains:
                    self.snapshots.remove(f"sha256:{snap.name}")
        return removed, freed

    # ----------------------------------------------------------------- internals

    @staticmethod
    def _tag_reference(text: str) -> Reference:
        ref = parse_reference(text)
        if ref.digest is not None:
            raise InvalidArgumentError(
                f"refusing to create a tag with a digest reference: {text!r}", subject=text
            )
        return ref

    def _loaded_for(self, manifest_digest: str) -> _Loaded:
        cached = self._loaded.get(manifest_digest)
        if cached is not None:
            return cached
        manifest = _json(self.content.read_bytes(manifest_digest))
        config_digest = manifest["config"]["digest"]
        config = _json(self.content.read_bytes(config_digest))
        layers = tuple((d["digest"], d["mediaType"]) for d in manifest.get("layers", []))
        for _, media_type in layers:
            if media_type not in _LAYER_COMPRESSION:
                raise InvalidArgumentError(
                    f"image {manifest_digest} has a layer of unsupported type {media_type}",
                    subject=manifest_digest,
                )
        diff_ids = tuple(config.get("rootfs", {}).get("diff_ids", []))
        if len(diff_ids) != len(layers):
            raise InvalidArgumentError(
                f"image {manifest_digest}: {len(layers)} layers but {len(diff_ids)} diff_ids",
                subject=manifest_digest,
            )
        image = Image(
            id=config_digest,
            repo_tags=(),
            manifest_digest=manifest_digest,
            created=config.get("created", ""),
            size=sum(int(d.get("size", 0)) for d in manifest.get("layers", [])),
            diff_ids=diff_ids,
            config=ImageConfig.from_oci(config.get("config")),
            architecture=config.get("architecture", ""),
            os=config.get("os", ""),
        )
        loaded = _Loaded(image=image, layers=layers)
        self._loaded[manifest_digest] = loaded
        return loaded

    def _image(self, manifest_digest: str, entries: _Entries) -> Image:
        tags = sorted(
            {
                parse_reference(e.ref_name).familiar()
                for e in entries
                if e.digest == manifest_digest and e.ref_name and "@" not in e.ref_name
            }
        )
        return replace(self._loaded_for(manifest_digest).image, repo_tags=tuple(tags))

    def _match(
        self, entries: _Entries, text: str
    ) -> tuple[str, _Entries] | None:
        """Resolve ``text`` to (manifest digest, index entries matched by name).

        The name list is empty when ``text`` matched an image id (or a manifest digest).
        """
        full = _FULL_ID_RE.match(text)
        if full:
            wanted = "sha256:" + full[1]
            for digest in dict.fromkeys(e.digest for e in entries):
                if self._loaded_for(digest).image.id == wanted or digest == wanted:
                    return digest, []
            if text.startswith("sha256:"):
                return None
        by_name = self._match_name(entries, text)
        if by_name is not None:
            return by_name
        prefix = _ID_PREFIX_RE.match(text)
        if prefix is None:
            return None
        hits = {
            d
            for d in dict.fromkeys(e.digest for e in entries)
            if self._loaded_for(d).image.id.removeprefix("sha256:").startswith(prefix[1])
        }
        if len(hits) > 1:
            raise AmbiguousReferenceError(
                f"short id {text!r} matches {len(hits)} images; give more characters",
                subject=text,
            )
        return (hits.pop(), []) if hits else None

    @staticmethod
    def _match_name(
        entries: _Entries, text: str
    ) -> tuple[str, _Entries] | None:
        try:
            ref = parse_reference(text)
        except InvalidArgumentError:
            if _ID_PREFIX_RE.match(text):
                return None
            raise
        wanted = ref.canonical()
        exact = [e for e in entries if e.ref_name == wanted]
        if exact:
            return exact[0].digest, exact
        if ref.digest is not None:
            # name@digest: any entry of that repository whose manifest has this digest.
            same_repo = [
                e
                for e in entries
                if e.digest == ref.digest
                and e.ref_name
                and parse_reference(e.ref_name).name == ref.name
            ]
            if same_repo:
                return ref.digest, []
        return None


def _set_name(entries: _Entries, entry: IndexEntry, canonical: str) -> None:
    """Point ``canonical`` at ``entry``'s manifest. A manifest that loses its last name this
    way stays as a dangling image (Docker's ``<none>``); the new one loses its dangling entry."""
    displaced = [e for e in entries if e.ref_name == canonical and e.digest != entry.digest]
    if any(e.ref_name == canonical and e.digest == entry.digest for e in entries):
        return
    entries[:] = [
        e
        for e in entries
        if e.ref_name != canonical and not (e.digest == entry.digest and e.ref_name is None)
    ]
    entries.append(replace(entry, ref_name=canonical))
    for old in displaced:
        if not any(e.digest == old.digest for e in entries):
            entries.append(replace(old, ref_name=None))


def _display(text: str) -> str:
    """``busybox`` → ``busybox:latest`` in messages, like Docker; ids and junk unchanged."""
    if _ID_PREFIX_RE.match(text):
        return text
    try:
        return parse_reference(text).familiar()
    except InvalidArgumentError:
        return text


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise InvalidArgumentError(f"blob is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidArgumentError("blob is not a JSON object")
    return value


def _content_size(root: Path) -> int:
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(directory, name))
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
    return total
