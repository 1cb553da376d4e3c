"""``pull``: registry → content store → image index.

Manifests, config and layers are stored as the registry serves them (gzip layers stay gzip:
the snapshot store unpacks gzip directly), so the local manifest digest equals the remote one
(``RepoDigests``) and the image id (config digest) is the same everywhere. Layers download in
parallel, each verified against its digest before it becomes visible.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidArgumentError
from engine.images import _LAYER_COMPRESSION, Image, ImageStore
from engine.references import Reference, parse_reference
from engine.registry.client import RegistryClient
from engine.registry.manifests import (
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    Platform,
    load_manifest,
    parse_platform,
    pick_platform,
)

PARALLEL_DOWNLOADS = 3


@dataclass(frozen=True)
class PullProgress:
    """One progress report: ``layer`` is a short digest (or "" for the whole image)."""

    layer: str
    status: str
    current: int = 0
    total: int = 0


Reporter = Callable[[PullProgress], None]


def _ignore(_p: PullProgress) -> None:
    pass


class _Cancelled(Exception):
    """Raised in a download thread once the pull was interrupted, to end it at once."""


def pull_image(
    store: ImageStore,
    reference: str,
    *,
    platform: str | Platform | None = None,
    client: RegistryClient | None = None,
    report: Reporter = _ignore,
    parallel: int = PARALLEL_DOWNLOADS,
) -> Image:
    ref = parse_reference(reference)
    wanted = platform if isinstance(platform, Platform) else parse_platform(platform)
    own_client = client is None
    client = client or RegistryClient(ref.domain)
    try:
        return _pull(store, ref, wanted, client, report, parallel)
    finally:
        if own_client:
            client.close()


def _pull(
    store: ImageStore,
    ref: Reference,
    wanted: Platform,
    client: RegistryClient,
    report: Reporter,
    parallel: int,
) -> Image:
    where = ref.familiar()
    tag_or_digest = ref.digest or ref.tag or "latest"
    report(PullProgress("", f"Pulling from {ref.familiar_name}"))
    fetched = client.get_manifest(ref.path, tag_or_digest)
    if fetched.media_type in DOCKER_SCHEMA1:
        raise InvalidArgumentError(
            f"{where}: Docker image manifest schema 1 is deprecated and not supported",
            subject=where,
        )
    doc = load_manifest(fetched.data, where)
    if fetched.media_type in INDEX_TYPES or "manifests" in doc:
        descriptor = pick_platform(doc, wanted, where)
        fetched = client.get_manifest(ref.path, descriptor["digest"])
        doc = load_manifest(fetched.data, where)
    config_desc = doc.get("config") or {}
    layers = doc.get("layers") or []
    for layer in layers:
        if layer.get("mediaType") not in _LAYER_COMPRESSION:
            raise InvalidArgumentError(
                f"{where}: layer media type {layer.get('mediaType')} is not supported"
                " (supported: tar, tar+gzip)",
                subject=where,
            )
    client.fetch_blob(ref.path, config_desc["digest"], config_desc.get("size"), store.content)
    lock = threading.Lock()
    cancelled = threading.Event()

    def download(layer: dict[str, Any]) -> None:
        short = layer["digest"].removeprefix("sha256:")[:12]
        total = int(layer.get("size") or 0)
        if store.content.exists(layer["digest"]):
            report(PullProgress(short, "Already exists", total, total))
            return
        report(PullProgress(short, "Pulling fs layer", 0, total))
        done = [0]

        def progress(n: int) -> None:
            if cancelled.is_set():
                raise _Cancelled  # leaves fetch_blob's writer: the partial blob is removed
            with lock:
                done[0] += n
            report(PullProgress(short, "Downloading", done[0], total))

        client.fetch_blob(ref.path, layer["digest"], layer.get("size"), store.content, progress)
        report(PullProgress(short, "Download complete", total, total))

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(download, layer) for layer in layers]
        try:
            errors = [f.exception() for f in futures]
        except BaseException:  # Ctrl-C, SIGTERM: the downloads stop at their next chunk
            cancelled.set()
            for future in futures:
                future.cancel()
            raise
    for error in errors:
        if error is not None:
            raise error
    names: tuple[str, ...] = (f"{ref.name}@{fetched.digest}",)
    if ref.digest is None:
        names = (ref.canonical(), *names)
    # Unpack before the name is registered (like docker pull, so `up` starts fast): a failed
    # unpack (disk full) leaves no image behind, only verified blobs a retry reuses.
    manifest_blob = store.content.put_bytes(fetched.data)
    store.layer_paths(store.image_for_manifest(manifest_blob.digest))
    image = store.add_manifest(fetched.data, names, media_type=fetched.media_type)
    report(PullProgress("", f"Digest: {fetched.digest}"))
    report(PullProgress("", f"Status: Downloaded image for {where}"))
    return image
