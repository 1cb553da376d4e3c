"""``image save`` / ``image load``: Docker archives and OCI image-layout archives.

``save`` writes the layout Docker 25+ writes: an OCI image layout (``oci-layout``,
``index.json``, ``blobs/sha256/…``) *plus* the legacy ``manifest.json`` and ``repositories``
pointing at the same blobs. One tar therefore loads in ``docker load``, ``podman load`` and
skopeo both as ``docker-archive:`` and as ``oci-archive:``. ``load`` reads either kind:
``manifest.json`` (docker save of any age, layers plain or compressed) or, when absent,
``index.json`` (OCI archives from skopeo/podman/buildah).
Every blob goes through the content store's verified writer, and the index changes only once
all blobs of an image are present, so a broken archive leaves no half-registered image.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from engine.content import Blob, sha256_digest
from engine.errors import DigestMismatchError, InvalidArgumentError
from engine.image_layout import (
    CONFIG_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    LAYER_GZIP_MEDIA_TYPE,
    LAYER_TAR_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    OCI_LAYOUT_VERSION,
    REF_NAME_ANNOTATION,
    canonical_json,
)
from engine.images import Image, ImageStore, host_architecture
from engine.references import parse_reference

CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
_INDEX_TYPES = (INDEX_MEDIA_TYPE, "application/vnd.docker.distribution.manifest.list.v2+json")


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def save_images(store: ImageStore, references: list[str], out: Path | BinaryIO) -> list[Image]:
    """Write the named images (tags kept) as one archive to ``out`` (path or binary stream)."""
    if not references:
        raise InvalidArgumentError("save needs at least one image name or id")
    chosen: list[tuple[Image, str | None]] = []
    for text in references:
        image = store.get(text)
        name: str | None = None
        try:
            ref = parse_reference(text)
            if ref.familiar() in image.repo_tags:
                name = ref.canonical()  # saved by name: only that tag, like docker save
        except InvalidArgumentError:
            pass  # an id: every tag of the image
        chosen.append((image, name))
    if isinstance(out, Path):
        fd, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                _write_archive(store, chosen, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, out)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    else:
        _write_archive(store, chosen, out)
    return [image for image, _ in chosen]


def _write_archive(
    store: ImageStore, chosen: list[tuple[Image, str | None]], handle: BinaryIO
) -> None:
    written: set[str] = set()
    index_manifests: list[dict[str, Any]] = []
    docker_manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    with tarfile.open(fileobj=handle, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for image, name in chosen:
            doc = store.manifest(image)
            digests = [image.manifest_digest, doc["config"]["digest"]]
            digests += [d["digest"] for d in doc.get("layers", [])]
            for digest in digests:
                if digest in written:
                    continue
                written.add(digest)
                info = tarfile.TarInfo(_blob_name(digest))
                info.size = store.content.size(digest)
                info.mode = 0o644
                with store.content.open(digest) as blob:
                    archive.addfile(info, blob)
            tags: list[str | None] = (
                [name] if name else [parse_reference(t).canonical() for t in image.repo_tags]
            )
            descriptor: dict[str, Any] = {
                "mediaType": doc.get("mediaType") or MANIFEST_MEDIA_TYPE,
                "digest": image.manifest_digest,
                "size": store.content.size(image.manifest_digest),
            }
            for tag in tags or [None]:  # an untagged image still gets its index entry
                entry = dict(descriptor)
                if tag:
                    ref = parse_reference(tag)
                    entry["annotations"] = {
                        CONTAINERD_NAME_ANNOTATION: ref.canonical(),
                        REF_NAME_ANNOTATION: ref.tag or "latest",
                    }
                    repositories.setdefault(ref.familiar_name, {})[ref.tag or "latest"] = (
                        image.diff_ids[-1].removeprefix("sha256:") if image.diff_ids else ""
                    )
                index_manifests.append(entry)
            docker_manifest.append(
                {
                    "Config": _blob_name(doc["config"]["digest"]),
                    "RepoTags": [parse_reference(t).familiar() for t in tags if t],
                    "Layers": [_blob_name(d["digest"]) for d in doc.get("layers", [])],
                }
            )
        layout = {"imageLayoutVersion": OCI_LAYOUT_VERSION}
        _add_bytes(archive, "oci-layout", canonical_json(layout))
        index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": index_manifests}
        _add_bytes(archive, "index.json", canonical_json(index))
        _add_bytes(archive, "manifest.json", json.dumps(docker_manifest).encode())
        _add_bytes(archive, "repositories", json.dumps(repositories).encode())


# ------------------------------------------------------------------------------------ load


class _Reader:
    """Random access to the members of a (possibly compressed) archive file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by load_archive
            self.members = {
                m.name.removeprefix("./"): m for m in self.tar.getmembers() if not m.isdir()
            }
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidArgumentError(
                f"cannot load {path}: not a tar archive ({exc})", subject=str(path)
            ) from exc

    def open(self, name: str) -> BinaryIO:
        member = self.members.get(name.removeprefix("./"))
        handle = self.tar.extractfile(member) if member is not None else None
        if handle is None:
            raise InvalidArgumentError(
                f"cannot load {self.path}: the archive has no file {name!r}", subject=name
            )
        return handle  # type: ignore[return-value]

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError as exc:
            raise InvalidArgumentError(
                f"cannot load {self.path}: {name} is not valid JSON", subject=name
            ) from exc


def load_archive(store: ImageStore, path: Path) -> list[tuple[str | None, Image]]:
    """Load every image of a docker-save or OCI archive; returns (name or None, image)."""
    if not path.is_file():
        raise InvalidArgumentError(f"cannot load {path}: no such file", subject=str(path))
    reader = _Reader(path)
    with reader.tar:
        if "manifest.json" in reader.members:
            return _load_docker(store, reader)
        if "index.json" in reader.members:
            return _load_oci(store, reader)
    raise InvalidArgumentError(
        f"cannot load {path}: neither manifest.json (docker save) nor index.json (OCI) found",
        subject=str(path),
        hint="use `pycompose image import` for a plain root filesystem tarball",
    )


def _put_member(store: ImageStore, reader: _Reader, name: str, digest: str | None) -> Blob:
    with reader.open(name) as src:
        try:
            return store.content.put_file(src, expected_digest=digest)
        except DigestMismatchError as exc:
            raise DigestMismatchError(
                f"cannot load {reader.path}: {name}: {exc.message}", subject=name
            ) from exc


def _layer_type(reader: _Reader, name: str) -> str:
    with reader.open(name) as src:
        magic = src.read(4)
    if magic.startswith(b"\x1f\x8b"):
        return LAYER_GZIP_MEDIA_TYPE
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        raise InvalidArgumentError(
            f"cannot load {reader.path}: layer {name} is zstd-compressed (not supported)",
            subject=name,
        )
    return LAYER_TAR_MEDIA_TYPE


def _load_docker(store: ImageStore, reader: _Reader) -> list[tuple[str | None, Image]]:
    entries = reader.json("manifest.json")
    if not isinstance(entries, list):
        raise InvalidArgumentError(f"cannot load {reader.path}: manifest.json is not a list")
    loaded: list[tuple[str | None, Image]] = []
    for entry in entries:
        config_bytes = reader.read(entry["Config"])
        config_blob = store.content.put_bytes(config_bytes)
        config = json.loads(config_bytes)
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        layer_names = entry.get("Layers") or []
        if len(diff_ids) != len(layer_names):
            raise InvalidArgumentError(
                f"cannot load {reader.path}: {len(layer_names)} layers but"
                f" {len(diff_ids)} diff_ids in {entry['Config']}"
            )
        layers = []
        for layer_name, diff_id in zip(layer_names, diff_ids, strict=True):
            media_type = _layer_type(reader, layer_name)
            expected = diff_id if media_type == LAYER_TAR_MEDIA_TYPE else None
            blob = _put_member(store, reader, layer_name, expected)
            layers.append({"mediaType": media_type, "digest": blob.digest, "size": blob.size})
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "digest": config_blob.digest,
                "size": config_blob.size,
            },
            "layers": layers,
        }
        tags = tuple(entry.get("RepoTags") or ())
        image = store.add_manifest(canonical_json(manifest), tags)
        familiar = [parse_reference(t).familiar() for t in tags]
        loaded.extend([(t, image) for t in familiar] or [(None, image)])
    return loaded


def _load_oci(store: ImageStore, reader: _Reader) -> list[tuple[str | None, Image]]:
    index = reader.json("index.json")
    loaded: list[tuple[str | None, Image]] = []
    for descriptor in index.get("manifests", []):
        annotations = descriptor.get("annotations") or {}
        name = _oci_name(annotations)
        manifest_desc = descriptor
        if descriptor.get("mediaType") in _INDEX_TYPES:
            nested = json.loads(_checked(reader, descriptor["digest"]))
            manifest_desc = _pick(nested, str(reader.path))
        manifest_bytes = _checked(reader, manifest_desc["digest"])
        manifest = json.loads(manifest_bytes)
        for blob in (manifest["config"], *manifest.get("layers", [])):
            if not store.content.exists(blob["digest"]):
                _put_member(store, reader, _blob_name(blob["digest"]), blob["digest"])
        media_type = manifest.get("mediaType") or manifest_desc.get("mediaType")
        image = store.add_manifest(manifest_bytes, (name,) if name else (), media_type=media_type)
        loaded.append((parse_reference(name).familiar() if name else None, image))
    return loaded


def _checked(reader: _Reader, digest: str) -> bytes:
    data = reader.read(_blob_name(digest))
    if sha256_digest(data) != digest:
        raise DigestMismatchError(
            f"cannot load {reader.path}: blob {digest} does not match its digest", subject=digest
        )
    return data


def _pick(index: dict[str, Any], where: str) -> dict[str, Any]:
    for descriptor in index.get("manifests", []):
        plat = descriptor.get("platform") or {}
        if plat.get("os", "linux") == "linux" and plat.get("architecture") in (
            None,
            host_architecture(),
        ):
            return dict(descriptor)
    raise InvalidArgumentError(f"cannot load {where}: no manifest for linux/{host_architecture()}")


def _oci_name(annotations: dict[str, str]) -> str | None:
    """containerd's full name, else ``ref.name`` when it is a whole reference (skopeo writes
    what the user typed after ``oci-archive:FILE:``); a bare tag names nothing."""
    for key in (CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION):
        text = annotations.get(key)
        if not text:
            continue
        if key == REF_NAME_ANNOTATION and ":" not in text and "/" not in text:
            continue
        try:
            return parse_reference(text).canonical()
        except InvalidArgumentError:
            continue
    return None
