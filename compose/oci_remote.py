"""`-f oci://REGISTRY/REPO[:TAG]` (and `include`/`extends` of one): a published compose project
fetched from a registry and loaded as local files, as docker compose's OCI remote loader does.

The reference is resolved on every load (a tag may have moved); the artifact's files are kept
under `<cache>/oci/<manifest digest>/` and reused while the digest is the same. Compose file
layers make up `compose.yaml` (one YAML document each, in layer order), extended files and env
files keep the names their annotations give, beside it, where the rewritten paths in
`compose.yaml` find them. That directory is the project directory, so relative paths resolve
there. A directory appears complete or not at all: it is written under a temporary name and
renamed. With caching turned off (`PYCOMPOSE_CACHE_DIR=`), the files live in a temporary
directory removed when the command ends.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

from compose.cache_dir import cache_root
from compose.discovery import OCI_PREFIX
from compose.errors import ComposeError
from compose.oci_artifact import (
    COMPOSE_FILE_MEDIA_TYPE,
    ENV_FILE_ANNOTATION,
    ENV_FILE_MEDIA_TYPE,
    EXTENDS_ANNOTATION,
    FILE_ANNOTATION,
    INDEX_MEDIA_TYPES,
    is_compose_project,
    project_in_index,
)
from compose.project_cache import OCI_SUBDIR

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from engine.api import ArtifactRepository

COMPOSE_FILE = "compose.yaml"
_PLAIN_NAME = re.compile(r"[^/\\]+")
_known: dict[str, Path] = {}  # reference -> its compose.yaml, for one process's loads
_temporary: list[Path] = []


def oci_cache_dir() -> Path | None:
    """Where fetched artifacts are kept, or None when caching is turned off."""
    root = cache_root()
    return root / OCI_SUBDIR if root is not None else None


def _cache() -> Path:
    directory = oci_cache_dir()
    if directory is None:
        if not _temporary:
            _temporary.append(Path(tempfile.mkdtemp(prefix="pycompose-oci-")))
            atexit.register(shutil.rmtree, _temporary[0], True)
        return _temporary[0]
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def load_compose_artifact(url: str) -> Path:
    """The local `compose.yaml` of the project `oci://…` names (fetched if not cached)."""
    if url not in _known:
        _known[url] = _fetch(url)
    return _known[url]


def _fetch(url: str) -> Path:
    from engine.api import ArtifactRepository, EngineError

    reference = url[len(OCI_PREFIX):]
    try:
        with ArtifactRepository(reference) as repo:
            return _fetch_from(repo, url)
    except EngineError as exc:
        raise ComposeError(f'failed to pull OCI resource "{url}": {exc}', hint=exc.hint) from None


def _fetch_from(repo: ArtifactRepository, url: str) -> Path:
    manifest = repo.manifest()
    document = manifest.document
    if manifest.media_type in INDEX_MEDIA_TYPES or "manifests" in document:
        digest = project_in_index(document)
        if digest is None:
            raise ComposeError(f"OCI index {url} doesn't refer to compose artifacts")
        manifest = repo.manifest(digest)
        document = manifest.document
    if not is_compose_project(document):
        kind = document.get("artifactType") or (document.get("config") or {}).get("mediaType")
        raise ComposeError(
            f"{url} is not a compose project OCI artifact, but {kind or 'an unknown type'}",
            hint="publish one with `pycompose publish`",
        )
    cache = _cache()
    local = cache / manifest.digest.removeprefix("sha256:")
    if not (local / COMPOSE_FILE).is_file():
        _unpack(repo, url, document, local)
    return local / COMPOSE_FILE


def _plain(name: Any, url: str) -> str:
    """A layer's file name, which must stay inside the artifact's directory."""
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or name in (".", ".."):
        raise ComposeError(f"invalid OCI artifact {url}: layer file name {name!r}")
    return name


def _unpack(repo: ArtifactRepository, url: str, document: dict[str, Any], local: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=local.parent))
    try:
        compose_parts: list[bytes] = []
        for layer in document.get("layers") or ():
            if not isinstance(layer, dict):
                continue
            media_type = layer.get("mediaType")
            annotations = layer.get("annotations") or {}
            if media_type not in (COMPOSE_FILE_MEDIA_TYPE, ENV_FILE_MEDIA_TYPE):
                continue
            data = repo.blob(layer)
            if media_type == ENV_FILE_MEDIA_TYPE:
                name = _plain(annotations.get(ENV_FILE_ANNOTATION), url)
                (staging / name).write_bytes(data)
            elif EXTENDS_ANNOTATION in annotations:
                name = _plain(annotations.get(FILE_ANNOTATION), url)
                (staging / name).write_bytes(data)
            else:
                compose_parts.append(data)
        if not compose_parts:
            raise ComposeError(f"invalid OCI artifact {url}: it holds no compose file")
        (staging / COMPOSE_FILE).write_bytes(b"\n---\n".join(compose_parts))
        try:
            os.rename(staging, local)
        except OSError:
            if not (local / COMPOSE_FILE).is_file():  # not another load that got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
