"""Bind mount propagation (`bind.propagation`): the mount flags of each mode, and the host-side
check Docker makes before it starts a container.

Only host -> container propagation can be offered: the container's mount namespace is made a
recursive *slave* of the host when any bind asks for shared/slave propagation, so host mounts
under such a bind source reach the container while nothing the container mounts (its overlay
root, /proc, ...) can travel back. A `shared`/`rshared` bind is a slave that is also shared with
the container's own later copies (mounts made inside the container do not reach the host).
"""

from __future__ import annotations

import os

MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20

FLAGS = {
    "private": MS_PRIVATE,
    "rprivate": MS_REC | MS_PRIVATE,
    "slave": MS_SLAVE,
    "rslave": MS_REC | MS_SLAVE,
    "shared": MS_SHARED,
    "rshared": MS_REC | MS_SHARED,
}
DEFAULT = "rprivate"  # Docker's default for binds
_RECEIVING = frozenset({"slave", "rslave", "shared", "rshared"})


def receives_host_mounts(propagation: str | None) -> bool:
    """Whether a bind of this mode must see mounts the host makes under its source later."""
    return propagation in _RECEIVING


def root_flags(propagations: list[str | None]) -> int:
    """Flags for the container's whole mount tree right after unshare: rslave when a bind must
    keep receiving host mounts (its source stays a slave of the host's peer group), else
    rprivate (nothing crosses in either direction)."""
    if any(receives_host_mounts(p) for p in propagations):
        return MS_REC | MS_SLAVE
    return MS_REC | MS_PRIVATE


def bind_flags(propagation: str | None) -> int:
    return FLAGS[propagation or DEFAULT]


def _mount_of(path: str, mountinfo: str) -> tuple[str, set[str]]:
    """The mount point holding `path` and its optional fields (`shared:N`, `master:N`)."""
    best, best_fields = "/", set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        point = fields[4].replace("\\040", " ")
        optional = set(fields[6 : fields.index("-")]) if "-" in fields else set()
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_fields = point, {f.split(":")[0] for f in optional}
    return best, best_fields


def check_source(source: str, propagation: str | None, mountinfo: str | None = None) -> str | None:
    """Docker's rule, as a message (None when fine): a shared bind needs its source on a
    shared host mount, a slave bind one that is shared or a slave."""
    if not receives_host_mounts(propagation):
        return None
    if mountinfo is None:
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            mountinfo = handle.read()
    point, optional = _mount_of(os.path.realpath(source), mountinfo)
    wanted = {"shared"} if propagation in ("shared", "rshared") else {"shared", "master"}
    if optional & wanted:
        return None
    kind = "shared" if wanted == {"shared"} else "shared or slave"
    actual = "a slave mount" if "master" in optional else "private"
    return (
        f"bind propagation {propagation} needs {source} on a {kind} mount, but it is on "
        f"{point}, which is {actual} (make it shared: mount --make-rshared {point})"
    )
