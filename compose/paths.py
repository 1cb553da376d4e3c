"""Resolution of relative paths inside a service definition against a base directory.

Relative paths mean "relative to the file (or project directory) that wrote them", so they
are made absolute as soon as a definition moves away from its origin (extends, include) and,
for the project's own files, against the project directory. Resolution is idempotent.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from compose.volume_syntax import is_path_source, parse_volume, resolve_host_path
from compose.yaml_source import Override, Reset

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


def is_remote_context(context: str) -> bool:
    return bool(_REMOTE.match(context))


def absolute(path: str, base: Path) -> str:
    expanded = os.path.expanduser(path)
    return os.path.normpath(expanded if os.path.isabs(expanded) else base / expanded)


def _unwrap(value: Any) -> tuple[Any, type | None]:
    if isinstance(value, Override):
        return value.value, Override
    return value, None


def _rewrap(value: Any, kind: type | None) -> Any:
    return Override(value) if kind is Override else value


def _build(value: Any, base: Path) -> Any:
    if isinstance(value, str):
        return value if is_remote_context(value) else absolute(value, base)
    if isinstance(value, dict):
        out = dict(value)
        context = out.get("context", ".")
        if isinstance(context, str) and not is_remote_context(context):
            out["context"] = absolute(context, base)
        if out.get("additional_contexts"):
            out["additional_contexts"] = _additional_contexts(out["additional_contexts"], base)
        return out
    return value


def _additional_contexts(value: Any, base: Path) -> Any:
    """A mapping (the list form `name=value` converted, as compose-go does) whose local
    directories are absolute; `service:`, `docker-image://` and remote values stay."""
    from compose.merge import to_mapping

    if not isinstance(value, dict | list):
        return value
    out = {}
    for name, item in to_mapping(value).items():
        local = isinstance(item, str) and item and not (
            is_remote_context(item) or item.startswith(("service:", "target:"))
        )
        out[name] = absolute(item, base) if local else item
    return out


def _env_file(value: Any, base: Path) -> Any:
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.append(absolute(item, base))
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            out.append({**item, "path": absolute(item["path"], base)})
        else:
            out.append(item)
    return out if isinstance(value, list) else out[0]


def _volumes(value: Any, base: Path) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        if isinstance(item, str):
            source = item.split(":", 1)[0] if ":" in item else ""
            if source and is_path_source(source) and not os.path.isabs(source):
                with contextlib.suppress(ValueError):
                    item = parse_volume(item, base)
        elif isinstance(item, dict) and item.get("type") == "bind":
            bind_source = item.get("source")
            if isinstance(bind_source, str):
                item = {**item, "source": resolve_host_path(bind_source, base)}
        out.append(item)
    return out


def _develop(value: Any, base: Path) -> Any:
    """`develop.watch[].path` absolute (compose-go resolves it against the project dir)."""
    if not isinstance(value, dict) or not isinstance(value.get("watch"), list):
        return value
    rules = [
        {**rule, "path": absolute(rule["path"], base)}
        if isinstance(rule, dict) and isinstance(rule.get("path"), str) else rule
        for rule in value["watch"]
    ]
    return {**value, "watch": rules}


def resolve_service_paths(service: dict[str, Any], base: Path) -> dict[str, Any]:
    """Copy of `service` with build context, env_file, bind sources, extends.file and
    develop.watch paths absolute."""
    out = dict(service)
    for key, fix in (("build", _build), ("env_file", _env_file), ("label_file", _env_file),
                     ("volumes", _volumes), ("develop", _develop)):
        if key in out and not isinstance(out[key], Reset):
            value, kind = _unwrap(out[key])
            out[key] = _rewrap(fix(value, base), kind)
    ext = out.get("extends")
    if isinstance(ext, dict) and isinstance(ext.get("file"), str):
        out["extends"] = {**ext, "file": absolute(ext["file"], base)}
    return out


def resolve_section_files(section: dict[str, Any], base: Path) -> dict[str, Any]:
    """`configs`/`secrets` entries with their `file:` made absolute."""
    out: dict[str, Any] = {}
    for name, item in section.items():
        if isinstance(item, dict) and isinstance(item.get("file"), str):
            item = {**item, "file": absolute(item["file"], base)}
        out[name] = item
    return out
