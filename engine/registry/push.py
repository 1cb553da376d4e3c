"""``push``: image index → registry, blobs first (skipping ones it has, mounting ones it has
in another repository), then the manifest. The manifest is sent byte for byte as stored, so
the remote digest equals the local one and a pull elsewhere yields the same image id."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.errors import DigestMismatchError
from engine.images import Image, ImageStore
from engine.references import parse_reference
from engine.registry.client import RegistryClient
from engine.registry.pull import PullProgress

PARALLEL_UPLOADS = 3
Reporter = Callable[[PullProgress], None]


def _ignore(_p: PullProgress) -> None:
    pass


def _mount_sources(store: ImageStore, domain: str, repo: str, blob: str) -> list[str]:
    """Other repositories on the same registry that we pushed/pulled with this blob."""
    sources: list[str] = []
    for name, digest in store.index_names():
        ref = parse_reference(name)
        if ref.domain != domain or ref.path == repo or ref.path in sources:
            continue
        try:
            doc = store.manifest(store.get(digest))
        except Exception:  # a broken neighbour only means no mount
            continue
        if blob in {d["digest"] for d in (doc["config"], *doc.get("layers", []))}:
            sources.append(ref.path)
    return sources


def push_image(
    store: ImageStore,
    local: str,
    remote: str | None = None,
    *,
    client: RegistryClient | None = None,
    report: Reporter = _ignore,
) -> str:
    """Push ``local`` as ``remote`` (default: its own name); returns the manifest digest."""
    image: Image = store.get(local)
    ref = parse_reference(remote or local)
    own_client = client is None
    client = client or RegistryClient(ref.domain)
    try:
        doc = store.manifest(image)
        blobs: list[dict[str, Any]] = [*doc.get("layers", []), doc["config"]]
        report(PullProgress("", f"The push refers to repository [{ref.familiar_name}]"))

        def send(desc: dict[str, Any]) -> None:
            digest = desc["digest"]
            short = digest.removeprefix("sha256:")[:12]
            if client.blob_exists(ref.path, digest):
                report(PullProgress(short, "Layer already exists"))
                return
            for source in _mount_sources(store, ref.domain, ref.path, digest):
                if client.mount_blob(ref.path, digest, source):
                    report(PullProgress(short, f"Mounted from {source}"))
                    return
            size = store.content.size(digest)
            report(PullProgress(short, "Pushing", 0, size))
            client.upload_blob(ref.path, digest, store.content.path(digest), size)
            report(PullProgress(short, "Pushed", size, size))

        with ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool:
            futures = [pool.submit(send, d) for d in blobs]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        data = store.content.read_bytes(image.manifest_digest)
        media_type = doc.get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
        remote_digest = client.put_manifest(ref.path, ref.tag or image.manifest_digest, data,
                                            media_type)
        if remote_digest and remote_digest != image.manifest_digest:
            raise DigestMismatchError(
                f"registry {ref.domain} stored the manifest under {remote_digest}, expected"
                f" {image.manifest_digest}",
                subject=ref.familiar(),
            )
        store.add_manifest(data, (f"{ref.name}@{image.manifest_digest}",), media_type=media_type)
        report(
            PullProgress(
                "", f"{ref.tag or 'latest'}: digest: {image.manifest_digest} size: {len(data)}"
            )
        )
        return image.manifest_digest
    finally:
        if own_client:
            client.close()
