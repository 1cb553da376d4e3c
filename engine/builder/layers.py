"""Layer writing for COPY/ADD/WORKDIR, and a read-only merged view of an image's layers.

``MergedView`` answers "what is at this path in the image" from the unpacked snapshot dirs
(top first) without mounting anything: the first layer that has the path wins, a whiteout
(0/0 char device) hides it, an opaque directory stops the search downwards. COPY --from and
"does the destination dir exist" use it.

``LayerBuilder`` streams a tar straight into the content store's verified writer; members
are added in the caller's (sorted) order with numeric owners, so equal inputs give equal
layers (and therefore stable image ids).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from engine.content import Blob, ContentStore
from engine.snapshots import OVERLAY_OPAQUE_XATTR, normalize_member_name


def _is_whiteout(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)


def _is_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class MergedView:
    """The union of snapshot dirs ``lowers`` (top layer first), like overlayfs shows it."""

    def __init__(self, lowers: list[Path]) -> None:
        self.lowers = lowers

    def lookup(self, rel: str) -> Path | None:
        rel = rel.strip("/")
        if rel in ("", "."):
            return self.lowers[0] if self.lowers else None
        parts = rel.split("/")
        for layer in self.lowers:
            blocked = False
            for n in range(1, len(parts)):
                ancestor = layer.joinpath(*parts[:n])
                if _is_whiteout(ancestor) or (ancestor.exists() and not ancestor.is_dir()):
                    return None
                if ancestor.is_dir() and _is_opaque(ancestor):
                    blocked = True
            candidate = layer.joinpath(*parts)
            if os.path.lexists(candidate):
                return None if _is_whiteout(candidate) else candidate
            if blocked:
                return None
        return None

    def is_dir(self, rel: str) -> bool:
        found = self.lookup(rel)
        return found is not None and found.is_dir() and not found.is_symlink()

    def listdir(self, rel: str) -> list[str]:
        rel = rel.strip("/")
        names: set[str] = set()
        hidden: set[str] = set()
        for layer in self.lowers:
            directory = layer / rel if rel not in ("", ".") else layer
            if not directory.is_dir() or directory.is_symlink():
                if os.path.lexists(directory):
                    break
                continue
            for entry in os.listdir(directory):
                if entry in hidden or entry in names:
                    continue
                if _is_whiteout(directory / entry):
                    hidden.add(entry)
                else:
                    names.add(entry)
            if _is_opaque(directory):
                break
        return sorted(names)

    def walk(self, rel: str) -> Iterator[tuple[str, Path]]:
        """(relative path, real path) of ``rel`` and everything below it, parents first."""
        found = self.lookup(rel)
        if found is None:
            return
        yield rel.strip("/"), found
        if found.is_dir() and not found.is_symlink():
            for name in self.listdir(rel):
                yield from self.walk(posixpath.join(rel.strip("/"), name))


class LayerBuilder:
    """Collect members for one layer; ``commit`` writes it to the content store."""

    def __init__(self, content: ContentStore) -> None:
        self.content = content
        self._members: list[tuple[tarfile.TarInfo, Path | None, BinaryIO | None]] = []
        self._names: set[str] = set()

    def has(self, rel: str) -> bool:
        return rel in self._names

    def add_dir(self, rel: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0,
                mtime: int = 0) -> None:
        rel = normalize_member_name(rel)
        if rel == "." or rel in self._names:
            return
        info = tarfile.TarInfo(rel)
        info.type = tarfile.DIRTYPE
        info.mode = mode
        info.uid, info.gid, info.mtime = uid, gid, mtime
        self._members.append((info, None, None))
        self._names.add(rel)

    def add_path(
        self,
        source: Path,
        rel: str,
        *,
        uid: int | None = None,
        gid: int | None = None,
        mode: int | None = None,
    ) -> None:
        """Add a host file, dir or symlink at ``rel``; owners default to root (COPY's rule)."""
        rel = normalize_member_name(rel)
        st = os.lstat(source)
        info = tarfile.TarInfo(rel)
        info.mtime = int(st.st_mtime)
        info.uid = 0 if uid is None else uid
        info.gid = 0 if gid is None else gid
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(st.st_mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(source)
        elif stat.S_ISREG(st.st_mode):
            info.type = tarfile.REGTYPE
            info.size = st.st_size
        else:
            return  # sockets, fifos, devices are not copied (as Docker)
        info.mode = stat.S_IMODE(st.st_mode) if mode is None else mode
        self._members = [m for m in self._members if m[0].name != rel]
        self._members.append((info, source if info.isreg() else None, None))
        self._names.add(rel)

    def add_file(self, rel: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0,
                 mtime: int = 0) -> None:
        """A regular file with this content (COPY <<EOF)."""
        info = tarfile.TarInfo(normalize_member_name(rel))
        info.size = len(data)
        info.mode = mode
        info.uid, info.gid, info.mtime = uid, gid, mtime
        self.add_member(info, data)

    def add_member(self, info: tarfile.TarInfo, data: bytes | None = None) -> None:
        import io

        self._members = [m for m in self._members if m[0].name != info.name]
        self._members.append((info, None, io.BytesIO(data) if data is not None else None))
        self._names.add(info.name)

    def commit(self) -> Blob:
        with self.content.writer() as writer:
            sink: Any = writer
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                for info, path, stream in self._members:
                    if path is not None:
                        with open(path, "rb") as handle:
                            archive.addfile(info, handle)
                    else:
                        archive.addfile(info, stream)
            return writer.commit()
