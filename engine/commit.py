"""Turn a container's overlay upper dir into an OCI layer (what ``docker commit`` and each
``RUN`` of a build do).

The upper dir holds overlayfs' own diff format; a layer must hold OCI's. So the walk converts
back what ``engine.snapshots`` converted on the way in: a 0/0 character device ``name`` (a
deleted file) becomes an empty ``.wh.name`` entry, a directory carrying
``trusted.overlay.opaque=y`` (replaced wholesale) gets a ``.wh..wh..opq`` entry. Overlayfs'
bookkeeping xattrs (``trusted.overlay.*``) never reach the layer; ``security.*`` and
``user.*`` xattrs (file capabilities) do, as PAX ``SCHILY.xattr`` records GNU tar restores.
The files the runtime bind-mounts over (``/etc/hosts``, ``/etc/hostname``,
``/etc/resolv.conf``, ``/sbin/docker-init``) appear in the upper dir only as empty mount
points and are left out, as Docker does. The tar is written straight into the content store
(uncompressed: its digest is the diff_id) in sorted order, so equal trees give equal layers.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path
from typing import Any

from engine.content import Blob, ContentStore
from engine.snapshots import OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX

MOUNTPOINT_FILES = frozenset({
    "etc/hosts", "etc/hostname", "etc/resolv.conf",
    "sbin/docker-init", "usr/sbin/docker-init",  # init: true (engine.docker_init)
})
_KEPT_XATTR_PREFIXES = ("security.", "user.")


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _xattrs(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in names:
        if name.startswith(_KEPT_XATTR_PREFIXES):
            try:
                value = os.getxattr(path, name, follow_symlinks=False)
            except OSError:
                continue
            out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def _empty_file(name: str, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 0
    info.mode = 0o644
    info.mtime = int(mtime)
    return info


def diff_entries(upper: Path) -> list[str]:
    """Relative paths in the upper dir, parents first, sorted (what the layer will hold)."""
    found: list[str] = []
    for current, dirs, files in os.walk(upper):
        dirs.sort()
        rel_dir = os.path.relpath(current, upper)
        for name in sorted([*dirs, *files]):
            found.append(name if rel_dir == "." else f"{rel_dir}/{name}")
    return found


def write_layer(upper: Path, writer_target: tarfile.TarFile) -> int:
    """Add the upper dir's diff to an open tar; returns the number of entries."""
    count = 0
    for current, dirs, files in os.walk(upper):
        dirs.sort()
        rel_dir = os.path.relpath(current, upper)
        for name in sorted([*dirs, *files]):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            path = os.path.join(current, name)
            st = os.lstat(path)
            if rel in MOUNTPOINT_FILES and stat.S_ISREG(st.st_mode) and st.st_size == 0:
                continue
            if _is_whiteout(st):
                parent = os.path.dirname(rel)
                wh = WHITEOUT_PREFIX + name
                writer_target.addfile(_empty_file(f"{parent}/{wh}" if parent else wh, st.st_mtime))
                count += 1
                continue
            info = writer_target.gettarinfo(path, arcname=rel)
            info.uname = info.gname = ""
            xattrs = _xattrs(path)
            if xattrs:
                info.pax_headers = {**info.pax_headers, **xattrs}
            if info.isreg():
                with open(path, "rb") as handle:
                    writer_target.addfile(info, handle)
            else:
                writer_target.addfile(info)
            count += 1
            if stat.S_ISDIR(st.st_mode) and _is_opaque(path):
                writer_target.addfile(_empty_file(f"{rel}/{OPAQUE_WHITEOUT}", st.st_mtime))
                count += 1
    return count


def remove_mount_stubs(upper: Path, stubs: tuple[str, ...]) -> None:
    """Drop the mount points the runtime made for paths the image lacked (a build step's
    ``RUN --mount`` targets), deepest first and only while still empty: BuildKit leaves them
    out of the layer too, so ``/run/secrets`` does not appear in an image because a step
    read a secret. What the command itself wrote there stays, and so does a stub the
    command moved away: when a directory on the way is now a link (to anywhere, the host's
    files included), nothing is removed through it."""
    for rel in sorted(stubs, key=lambda r: r.count("/"), reverse=True):
        parts = [p for p in rel.split("/") if p]
        if not _plain_directories(upper, parts[:-1]):
            continue
        path = upper.joinpath(*parts)
        try:
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                os.rmdir(path)  # fails, as wanted, when the command left files in it
            elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(path)
        except OSError:
            continue


def _plain_directories(upper: Path, parts: list[str]) -> bool:
    """Is every prefix of `parts` under `upper` a directory itself (no link among them)?"""
    for n in range(1, len(parts) + 1):
        try:
            if not stat.S_ISDIR(os.lstat(upper.joinpath(*parts[:n])).st_mode):
                return False
        except OSError:
            return False
    return True


def commit_upper(upper: Path, content: ContentStore, mount_stubs: tuple[str, ...] = ()) -> Blob:
    """Write the diff in ``upper`` as an uncompressed layer blob; returns its descriptor."""
    remove_mount_stubs(upper, mount_stubs)
    with content.writer() as writer:
        sink: Any = writer  # tarfile only needs .write()
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            write_layer(upper, archive)
        return writer.commit()
