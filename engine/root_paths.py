"""A path as a container will resolve it, without ever leaving its root (runc's securejoin,
BuildKit's ``fs.RootPath``).

Used wherever the engine makes or opens a container's path from the host before the
container runs (the runtime's mount points, a stopped container's copy), and wherever the
builder finds a COPY/ADD or ``RUN --mount`` source in the build context or a stage's layers:
joined plainly, an absolute symlink (an image's `/data -> /etc`, a context's `ctxlink -> /etc`)
would lead to the host's files. `resolve_relative` asks a `ReadLink` what is a link, so the
one walk serves a plain directory and the union of an image's layer directories alike.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

# A root-relative path ("a/b", its parents already resolved) -> the link's target, or None
# when it is no link (missing included).
ReadLink = Callable[[str], str | None]
MAX_LINKS = 255  # securejoin's bound: a link loop fails instead of spinning


def resolve_relative(path: str, read_link: ReadLink) -> str:
    """`path` relative to the root ("" for the root itself), every symlink on the way (the
    last component's too) followed inside the root: an absolute target starts again from
    the root, ``..`` stops there. What is missing is kept as written, as securejoin does.
    OSError(ELOOP) on a link loop."""
    pending = [p for p in path.split("/") if p]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part in (".", ".."):
            if part == ".." and resolved:
                resolved.pop()
            continue
        target = read_link("/".join([*resolved, part]))
        if target is None:
            resolved.append(part)
            continue
        links += 1
        if links > MAX_LINKS:
            raise OSError(errno.ELOOP, f"{path}: too many levels of symbolic links")
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return "/".join(resolved)


def resolve_in_root(rootfs: str, path: str) -> str:
    """`path` as the container will resolve it, as a host path under `rootfs`: an image's
    absolute link such as /sbin -> /usr/sbin must not make us create a mount point on the
    host."""

    def read_link(rel: str) -> str | None:
        candidate = os.path.join(rootfs, rel)
        return os.readlink(candidate) if os.path.islink(candidate) else None

    rel = resolve_relative(path, read_link)
    return os.path.join(rootfs, rel) if rel else rootfs
