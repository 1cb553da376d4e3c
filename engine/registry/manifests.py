"""Manifest kinds and multi-platform index resolution (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidArgumentError, NotFoundError
from engine.images import host_architecture

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
IMAGE_MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)


@dataclass(frozen=True)
class Platform:
    """The os/architecture[/variant] an image is pulled for: it picks one manifest out of a
    multi-platform index (the host's platform unless `--platform` names another)."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    return Platform("linux", host_architecture())


def parse_platform(text: str | None) -> Platform:
    """``linux/amd64``, ``linux/arm64/v8``, ``amd64``; None → the host's platform."""
    if not text:
        return host_platform()
    parts = text.lower().split("/")
    if len(parts) == 1:
        return Platform("linux", parts[0])
    if len(parts) in (2, 3) and all(parts):
        return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
    raise InvalidArgumentError(
        f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/amd64", subject=text
    )


def load_manifest(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InvalidArgumentError(f"manifest of {where} is not valid JSON", subject=where) from exc
    if not isinstance(doc, dict):
        raise InvalidArgumentError(f"manifest of {where} is not a JSON object", subject=where)
    return doc


def pick_platform(index: dict[str, Any], wanted: Platform, where: str) -> dict[str, Any]:
    """The descriptor for ``wanted`` in an image index (variant matched when given)."""
    candidates = []
    available = []
    for descriptor in index.get("manifests", []):
        plat = descriptor.get("platform") or {}
        available.append(
            str(Platform(plat.get("os", "?"), plat.get("architecture", "?"), plat.get("variant")))
        )
        if plat.get("os") != wanted.os or plat.get("architecture") != wanted.architecture:
            continue
        if wanted.variant and plat.get("variant") not in (wanted.variant, None):
            continue
        candidates.append(descriptor)
    if not candidates:
        raise NotFoundError(
            f"no matching manifest for {wanted} in the manifest list of {where}"
            f" (available: {', '.join(available) or 'none'})",
            subject=where,
            hint="choose one with --platform / the service's platform: key",
        )
    return candidates[0]
