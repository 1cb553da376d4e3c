"""Service `volumes` entries, short and long syntax, to docker compose's long form.

Short syntax is `[source:]target[:mode]`, split as compose-go's ParseVolume splits it: one
section is an anonymous volume's target, two are `source:target` (so `/data:ro` is a bind of
/data on `ro`, a target Docker refuses: compose.validation reports it), three add the mode. A
source that looks like a path (`/`, `.`, `~`) is a bind mount resolved against a base
directory; any other source is a named volume.
"""

from __future__ import annotations

import os
from pathlib import Path

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any
_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
_SELINUX = {"z", "Z"}


def is_path_source(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or source in (".", "..")


def resolve_host_path(source: str, base: Path) -> str:
    """Absolute, normalized host path for a bind source (`~` expands to $HOME)."""
    expanded = os.path.expanduser(source)
    path = Path(expanded)
    if not path.is_absolute():
        path = base / path
    return os.path.normpath(path)


def parse_volume(entry: Any, base: Path | None) -> dict[str, Any]:
    """One `volumes` item to long syntax; bind sources made absolute when `base` is given."""
    if isinstance(entry, dict):
        return _long(entry, base)
    text = str(entry)
    problem = _spec_problem(text)
    if problem:
        raise ValueError(problem)
    parts = text.split(":")
    mode: str | None = None
    if len(parts) >= 3:
        source, target, mode = ":".join(parts[:-2]), parts[-2], parts[-1]
    elif len(parts) == 2:
        source, target = parts
    else:
        source, target = "", parts[0]
    if not target:
        raise ValueError(f"invalid volume specification: {text!r}")
    options = [o for o in (mode or "").split(",") if o]
    item: dict[str, Any]
    if not source:
        item = {"type": "volume", "target": target, "volume": {}}
    elif is_path_source(source):
        item = {"type": "bind", "source": resolve_host_path(source, base) if base else source,
                "target": target}
    else:
        item = {"type": "volume", "source": source, "target": target}
    if "ro" in options:
        item["read_only"] = True
    if item["type"] == "bind":
        bind: dict[str, Any] = {"create_host_path": True}
        prop = next((o for o in options if o in _PROPAGATION), None)
        if prop:
            bind["propagation"] = prop
        selinux = next((o for o in options if o in _SELINUX), None)
        if selinux:
            bind["selinux"] = selinux
        item["bind"] = bind
    elif "nocopy" in options:
        item["volume"] = {"nocopy": True}
    else:
        item.setdefault("volume", {})
    return item


def _long(entry: dict[str, Any], base: Path | None) -> dict[str, Any]:
    item = dict(entry)
    kind = str(item.get("type") or "volume")
    item["type"] = kind
    source = item.get("source")
    if kind == "bind" and isinstance(source, str) and base is not None:
        item["source"] = resolve_host_path(source, base)
    if "read_only" in item:
        item["read_only"] = _truthy(item["read_only"])
        if not item["read_only"]:
            del item["read_only"]
    if kind == "bind":
        bind = dict(item.get("bind") or {})
        bind["create_host_path"] = _truthy(bind.get("create_host_path", True))
        item["bind"] = bind
    tmpfs = item.get("tmpfs")
    if isinstance(tmpfs, dict) and tmpfs.get("size") is not None:
        from compose.byte_size import parse_byte_size

        # compose-go's UnitBytes, decoded at load and printed in bytes (as `mem_limit`)
        item["tmpfs"] = {**tmpfs, "size": str(parse_byte_size(tmpfs["size"]))}
    return item


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "yes", "1", "y", "on")
    return bool(value)


def volume_target(entry: Any) -> str | None:
    """The container path of an entry in either syntax (the merge key for volumes)."""
    try:
        return str(parse_volume(entry, None)["target"])
    except (ValueError, TypeError, KeyError):
        return None


def _spec_problem(spec: str) -> str | None:
    """What compose-go's ParseVolume refuses in a short-syntax volume: an empty section
    (`:/x`, `a::b`) or a colon past `source:target:options` (`a:b:c:d`): in a compose file and
    in `run -v` alike."""
    if len(spec) <= 2:
        return None
    parts = spec.split(":")
    if len(parts[0]) == 1 and parts[0].isalpha():  # `C:`, a Windows drive, as compose-go
        parts = [f"{parts[0]}:{parts[1]}", *parts[2:]]
    for position, part in enumerate(parts):
        if not part:
            return f"invalid spec: {spec}: empty section between colons"
        if 2 <= position < len(parts) - 1:
            return f"invalid spec: {spec}: too many colons"
    return None
