"""Top-level `volumes:` driver_opts of the local driver, checked when the stack file loads.

Docker's local driver takes `type`, `device` and `o` (and `size`, only with quota support,
which pycompose does not have), and refuses a volume whose options are incomplete: `device`
and `type` go together, `o` needs both ("missing required option"). pycompose also knows
what its engine will refuse when the first container starts (`type: none` without
`o: bind`, a bind of a relative path, a filesystem type nobody can mount), so all of it is
reported at load, with the file, line and key, instead of half-way through `up` naming only
the volume. The engine keeps its own check as the last line of defence.

Pure apart from reading /proc/filesystems (which types the running kernel knows right now).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from pathlib import Path

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any
KeyPath = tuple[str | int, ...]
Report = Callable[[str, KeyPath], None]

LOCAL_OPTIONS = ("type", "device", "o")
# Docker's local driver: an option that is given needs these too (volume/local/local_unix.go).
REQUIRED_WITH = {"device": ("type",), "type": ("device",), "o": ("device", "type")}
BIND_WORDS = frozenset({"bind", "rbind"})
_TYPE_SYNTAX = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")
# Filesystems mount(2) can load as a module even when /proc/filesystems does not list them yet,
# plus `none`, the type of a bind mount.
KNOWN_TYPES = frozenset({
    "none", "tmpfs", "ramfs", "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "msdos", "exfat",
    "ntfs", "ntfs3", "f2fs", "jfs", "reiserfs", "nilfs2", "hfs", "hfsplus", "udf", "iso9660",
    "squashfs", "erofs", "cramfs", "romfs", "overlay", "nfs", "nfs4", "cifs", "smb3", "9p",
    "virtiofs", "ceph", "glusterfs", "fuse", "fuseblk", "hugetlbfs", "zfs", "bcachefs", "ocfs2",
    "gfs2", "lustre",
})


def resolve_bind_devices(section: dict[str, Any], project_dir: Path) -> dict[str, Any]:
    """`volumes:` with a relative `device` of an `o: bind` volume of the explicit `local` driver
    made absolute against the project directory, exactly where docker compose (compose-go's
    path resolver) does it; other relative devices are left for validation to refuse."""
    out: dict[str, Any] = {}
    for key, spec in section.items():
        opts = spec.get("driver_opts") if isinstance(spec, dict) else None
        device = opts.get("device") if isinstance(opts, dict) else None
        if (
            isinstance(spec, dict) and isinstance(opts, dict) and spec.get("driver") == "local"
            and opts.get("o") == "bind" and isinstance(device, str) and device
            and not device.startswith("/")
        ):
            opts = {**opts, "device": str(project_dir / device)}
            spec = {**spec, "driver_opts": opts}
        out[key] = spec
    return out


@functools.cache
def _kernel_types() -> frozenset[str]:
    """The filesystem types of /proc/filesystems (empty if unreadable)."""
    with contextlib.suppress(OSError), open("/proc/filesystems", encoding="ascii") as handle:
        return frozenset(line.split()[-1] for line in handle if line.strip())
    return frozenset()


def known_type(fstype: str) -> bool:
    """Whether mount(2) can mount this filesystem type here (FUSE subtypes: `fuse.sshfs`)."""
    base, _, subtype = fstype.partition(".") if fstype.startswith("fuse.") else (fstype, "", "x")
    if not subtype:
        return False
    return base in KNOWN_TYPES or base in _kernel_types()


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else type(value).__name__


def volume_problems(name: str, spec: dict[str, Any], report: Report) -> None:
    """Report the problems of volume ``name``'s local-driver driver_opts to ``report``."""
    opts = spec.get("driver_opts")
    if not isinstance(opts, dict) or not opts or spec.get("external"):
        return
    if spec.get("driver") not in (None, "", "local"):
        return  # another driver's options are its own business
    base: KeyPath = ("volumes", name, "driver_opts")
    text: dict[str, str] = {}
    for key, value in opts.items():
        key = str(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            report(f"volume {name}: driver_opts {key} must be a string or a number, not "
                   f"{_describe(value)}", (*base, key))
        elif key == "size":
            report(f"volume {name}: driver_opts size needs quota support, which the local "
                   "driver of pycompose does not have", (*base, key))
        elif key not in LOCAL_OPTIONS:
            report(f'volume {name}: invalid option: "{key}" (the local driver takes type, '
                   "device and o)", (*base, key))
        else:
            text[key] = str(value)
    missing: dict[str, str] = {}  # option -> the first given option that needs it
    for key, needed in REQUIRED_WITH.items():
        if key in opts:
            for other in needed:
                if other not in opts:
                    missing.setdefault(other, key)
    for other, key in missing.items():
        report(f'volume {name}: missing required option: "{other}" (the local driver needs '
               f"{' and '.join(REQUIRED_WITH[key])} with {key})", (*base, key))
    fstype = text.get("type")
    words = {w.strip() for w in text.get("o", "").split(",") if w.strip()}
    is_bind = bool(BIND_WORDS & words)
    if fstype is not None:
        if not _TYPE_SYNTAX.match(fstype) or not known_type(fstype):
            report(f"volume {name}: driver_opts type {fstype!r} is not a filesystem type this "
                   "host can mount (e.g. tmpfs, or none with o: bind)", (*base, "type"))
        elif fstype == "none" and not is_bind:
            report(f"volume {name}: driver_opts type none needs o: bind",
                   (*base, "o" if "o" in text else "type"))
    device = text.get("device")
    if device is not None and not device.strip():
        report(f"volume {name}: driver_opts device must not be empty", (*base, "device"))
    elif is_bind and device is not None and not device.startswith("/"):
        report(f"volume {name}: driver_opts o: bind needs device to be an absolute host path, "
               f"not {device!r}", (*base, "device"))
