"""The shape of a compose project published as an OCI artifact, as docker compose writes and
reads it (internal/oci/push.go, pkg/remote/oci.go), so either tool reads the other's.

One layer per compose file (`application/vnd.docker.compose.file+yaml`, annotated with the
file's base name and the compose version), one per extended file (annotated
`com.docker.compose.extends`), one per env file (`application/vnd.docker.compose.envfile`,
only with `publish --with-env`). OCI 1.1 marks the manifest with an `artifactType` and the
empty config; OCI 1.0 registries get a config of compose's own empty media type instead, which
is what readers fall back to. Each descriptor carries its content inline (`data`) as docker's
do. Pure: building and checking documents, no I/O.
"""

from __future__ import annotations

import base64
import enum
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from compose.discovery import OCI_PREFIX
from compose.errors import ComposeError
from compose.labels import COMPOSE_VERSION
from engine import sha256_hex

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

PROJECT_ARTIFACT_TYPE = "application/vnd.docker.compose.project"
COMPOSE_FILE_MEDIA_TYPE = "application/vnd.docker.compose.file+yaml"
ENV_FILE_MEDIA_TYPE = "application/vnd.docker.compose.envfile"
EMPTY_CONFIG_MEDIA_TYPE = "application/vnd.docker.compose.config.empty.v1+json"
OCI_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
FILE_ANNOTATION = "com.docker.compose.file"
ENV_FILE_ANNOTATION = "com.docker.compose.envfile"
EXTENDS_ANNOTATION = "com.docker.compose.extends"
VERSION_ANNOTATION = "com.docker.compose.version"
EMPTY_JSON = b"{}"


class OCIVersion(enum.Enum):
    """`publish --oci-version`: which manifest shape to push (None: 1.1, else 1.0)."""

    V1_0 = "1.0"
    V1_1 = "1.1"


def parse_oci_version(text: str | None) -> OCIVersion | None:
    if not text:
        return None
    try:
        return OCIVersion(text)
    except ValueError:
        raise ComposeError(f"unsupported OCI version: {text}", hint="use 1.0 or 1.1") from None


def is_oci_reference(path: str) -> bool:
    return path.startswith(OCI_PREFIX)


@dataclass(frozen=True)
class Layer:
    """One document of the artifact: its bytes and how a reader files it."""

    media_type: str
    data: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return "sha256:" + sha256_hex(self.data)

    def descriptor(self) -> dict[str, Any]:
        """As Go marshals a v1.Descriptor: mediaType, digest, size, annotations (keys
        sorted), data (base64)."""
        out: dict[str, Any] = {
            "mediaType": self.media_type, "digest": self.digest, "size": len(self.data)
        }
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        out["data"] = base64.b64encode(self.data).decode()
        return out


def compose_file_layer(name: str, data: bytes, extends: bool = False) -> Layer:
    annotations = {FILE_ANNOTATION: name, VERSION_ANNOTATION: COMPOSE_VERSION}
    if extends:
        annotations[EXTENDS_ANNOTATION] = "true"
    return Layer(COMPOSE_FILE_MEDIA_TYPE, data, annotations)


def env_file_layer(name: str, data: bytes) -> Layer:
    return Layer(ENV_FILE_MEDIA_TYPE, data, {ENV_FILE_ANNOTATION: name,
                                             VERSION_ANNOTATION: COMPOSE_VERSION})


def _created(now: float | None) -> str:
    """RFC 3339 in local time, as Go's time.Now().Format(time.RFC3339)."""
    stamp = time.localtime(now)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", stamp)
    offset = stamp.tm_gmtoff or 0
    if offset == 0:
        return text + "Z"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


@dataclass(frozen=True)
class Manifest:
    """A manifest ready to push: its bytes, and every blob it refers to (config first)."""

    data: bytes
    blobs: tuple[bytes, ...]

    @property
    def digest(self) -> str:
        return "sha256:" + sha256_hex(self.data)


def build_manifest(
    layers: Sequence[Layer], version: OCIVersion, now: float | None = None
) -> Manifest:
    config = Layer(
        OCI_EMPTY_MEDIA_TYPE if version is OCIVersion.V1_1 else EMPTY_CONFIG_MEDIA_TYPE,
        EMPTY_JSON,
    )
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST_MEDIA_TYPE}
    if version is OCIVersion.V1_1:
        document["artifactType"] = PROJECT_ARTIFACT_TYPE
    document["config"] = config.descriptor()
    document["layers"] = [layer.descriptor() for layer in layers]
    document["annotations"] = {"org.opencontainers.image.created": _created(now)}
    data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return Manifest(data, (config.data, *(layer.data for layer in layers)))


def is_compose_project(document: Mapping[str, Any]) -> bool:
    """docker compose's test: the artifact type says so, or (OCI 1.0) the config's media
    type does."""
    artifact_type = document.get("artifactType")
    if artifact_type:
        return bool(artifact_type == PROJECT_ARTIFACT_TYPE)
    config = document.get("config")
    return isinstance(config, dict) and config.get("mediaType") == EMPTY_CONFIG_MEDIA_TYPE


def project_in_index(index: Mapping[str, Any]) -> str | None:
    """The digest of the compose project an image index refers to (`publish --app`'s shape)."""
    for entry in index.get("manifests") or ():
        if isinstance(entry, dict) and entry.get("artifactType") == PROJECT_ARTIFACT_TYPE:
            digest = entry.get("digest")
            return digest if isinstance(digest, str) else None
    return None
