"""``RUN --mount=…`` values → typed mounts (pure), with BuildKit's keys, defaults and checks.

``type=bind`` (default; read-only unless ``rw``), ``cache`` (kept between builds under an
``id``, default the target), ``tmpfs`` and ``secret`` (a build secret as a file, default
``/run/secrets/<id>``, and/or an ``env`` variable). ``ssh`` is refused: there is no agent
forwarding. Values are expanded with the build's variables, except ``from`` (BuildKit refuses
a variable there too).
"""

from __future__ import annotations

import csv
import enum
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import InvalidArgumentError

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_KEYS = ("type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro",
         "readwrite", "rw", "id", "sharing", "required", "mode", "uid", "gid", "size", "env")


class MountType(enum.Enum):
    BIND = "bind"
    CACHE = "cache"
    TMPFS = "tmpfs"
    SECRET = "secret"
    SSH = "ssh"


class Sharing(enum.Enum):
    """How concurrent builds share a cache mount."""

    SHARED = "shared"
    PRIVATE = "private"
    LOCKED = "locked"


@dataclass(frozen=True)
class RunMount:
    """One ``--mount`` with defaults applied; `target` is absolute (relative ones are taken
    from the working directory), or "" for a secret given only as ``env``."""

    type: MountType
    target: str
    source: str = ""
    from_: str = ""
    read_only: bool = False
    id: str = ""
    sharing: Sharing = Sharing.SHARED
    required: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    env: str = ""

    def describe(self) -> str:
        """The mount as it enters the step's cache key: everything that changes what the
        command sees, never a secret's value."""
        fields = [self.type.value, self.target, self.source, self.from_, str(self.read_only),
                  self.id, self.sharing.value, str(self.mode), str(self.uid), str(self.gid),
                  str(self.size), self.env]
        return ",".join(fields)


def _bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise InvalidArgumentError(f"invalid value for {key}: {value}")


def _number(key: str, value: str, base: int) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise InvalidArgumentError(f"invalid value {value} for {key}") from None


def _size(value: str) -> int:
    match = _SIZE_RE.match(value.strip())
    if match is None:
        raise InvalidArgumentError(f"invalid value for size: {value}")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def parse_mount(value: str, expand: Callable[[str], str], workdir: str) -> RunMount:
    """One ``--mount`` value; `expand` substitutes build variables in a field's value."""
    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration):
        raise InvalidArgumentError(f"failed to parse csv mounts: {value!r}") from None
    raw: dict[str, str] = {}
    flags: dict[str, bool] = {}
    for item in fields:
        key, sep, text = item.partition("=")
        key = key.strip().lower()
        if not sep:
            if key in ("readonly", "ro", "readwrite", "rw", "required"):
                flags[key] = True
                continue
            raise InvalidArgumentError(f"invalid field '{item}' must be a key=value pair")
        if key not in _KEYS:
            raise InvalidArgumentError(f"unexpected key '{key}' in '{item}'")
        if key == "from" and re.search(r"\$.", text):
            raise InvalidArgumentError(
                "'from' doesn't support variable expansion, define alias stage instead"
            )
        raw[key] = text if key == "from" else expand(text)
    kind_text = raw.get("type", "bind").lower()
    try:
        kind = MountType(kind_text)
    except ValueError:
        raise InvalidArgumentError(
            f"unsupported mount type {kind_text!r} (bind, cache, tmpfs or secret)"
        ) from None
    if kind is MountType.SSH:
        raise InvalidArgumentError("type=ssh mounts are not supported (no SSH agent forwarding)")
    return _build(kind, raw, flags, workdir)


def _read_only(kind: MountType, raw: dict[str, str], flags: dict[str, bool]) -> bool:
    for key in ("readonly", "ro"):
        if key in raw or key in flags:
            return _bool(key, raw[key]) if key in raw else True
    for key in ("readwrite", "rw"):
        if key in raw or key in flags:
            return not (_bool(key, raw[key]) if key in raw else True)
    return kind in (MountType.BIND, MountType.SECRET)


def _build(kind: MountType, raw: dict[str, str], flags: dict[str, bool],
           workdir: str) -> RunMount:
    source = raw.get("source", raw.get("src", ""))
    target = raw.get("target", raw.get("dst", raw.get("destination", "")))
    file_info = kind in (MountType.SECRET, MountType.CACHE)
    for key in ("mode", "uid", "gid"):
        if key in raw and not file_info:
            raise InvalidArgumentError(f"{key} not allowed for {kind.value!r} type mounts")
    if ("required" in raw or "required" in flags) and kind is not MountType.SECRET:
        raise InvalidArgumentError(f"unexpected key 'required' for mount type '{kind.value}'")
    if "size" in raw and kind is not MountType.TMPFS:
        raise InvalidArgumentError(f"unexpected key 'size' for mount type '{kind.value}'")
    if "env" in raw and kind is not MountType.SECRET:
        raise InvalidArgumentError(f"unexpected key 'env' for mount type '{kind.value}'")
    if "sharing" in raw and kind is not MountType.CACHE:
        raise InvalidArgumentError(f"invalid cache sharing set for {kind.value} mount")
    try:
        sharing = Sharing(raw.get("sharing", "shared").lower())
    except ValueError:
        raise InvalidArgumentError(
            f"unsupported sharing value {raw['sharing']!r} (shared, private or locked)"
        ) from None
    mount_id = raw.get("id", "")
    if kind is MountType.SECRET:
        if raw.get("from"):
            raise InvalidArgumentError("secret mount should not have a from")
        if source and mount_id:
            raise InvalidArgumentError("both source and id can't be set")
        mount_id = mount_id or source or (posixpath.basename(target) if target else "")
        if not mount_id:
            raise InvalidArgumentError("invalid secret mount: one of id, source or target "
                                       "is required")
        if not target and not raw.get("env"):
            target = "/run/secrets/" + posixpath.basename(mount_id)
        source = ""
    elif not target:
        raise InvalidArgumentError(f"type={kind.value} mount requires a target")
    if target:
        target = posixpath.normpath(posixpath.join(workdir or "/", target))
        if target == "/":
            raise InvalidArgumentError(f"invalid mount target {target!r}")
    if kind is MountType.CACHE and not mount_id:
        mount_id = target
    required = flags.get("required", False) or (
        _bool("required", raw["required"]) if "required" in raw else False
    )
    return RunMount(
        type=kind,
        target=target,
        source=source,
        from_=raw.get("from", ""),
        read_only=_read_only(kind, raw, flags),
        id=mount_id,
        sharing=sharing,
        required=required,
        mode=_number("mode", raw["mode"], 8) if "mode" in raw else None,
        uid=_number("uid", raw["uid"], 10) if "uid" in raw else None,
        gid=_number("gid", raw["gid"], 10) if "gid" in raw else None,
        size=_size(raw["size"]) if "size" in raw else None,
        env=raw.get("env", ""),
    )
