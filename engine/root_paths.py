"""A path as a container will resolve it, without ever leaving its root (runc's securejoin).

Used wherever the engine makes or opens a container's path from the host before the
container runs (the runtime's mount points, a stopped container's copy): joined plainly, an
image's absolute symlink (`/data -> /etc`) would lead to the host's files.
"""

from __future__ import annotations

import errno
import os


def resolve_in_root(rootfs: str, path: str) -> str:
    """`path` as the container will resolve it, symlinks included, without ever leaving
    `rootfs` (runc's securejoin): an image's absolute link such as /sbin -> /usr/sbin must not
    make us create a mount point on the host."""
    pending = [p for p in path.split("/") if p]
    resolved: list[str] = []
    for _hop in range(256):
        if not pending:
            return os.path.join(rootfs, *resolved)
        part = pending.pop(0)
        if part in (".", ".."):
            if part == ".." and resolved:
                resolved.pop()
            continue
        candidate = os.path.join(rootfs, *resolved, part)
        if os.path.islink(candidate):
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p] + pending
        else:
            resolved.append(part)
    raise OSError(errno.ELOOP, f"{path}: too many levels of symbolic links in the image")
