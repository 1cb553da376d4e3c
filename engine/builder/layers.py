"""Layer writing for COPY/ADD/WORKDIR, and a read-only merged view of an image's layers.

``MergedView`` answers "what is at this path in the image" from the unpacked snapshot dirs
(top first) without mounting anything: the first layer that has the path wins, a whiteout
(0/0 char device) hides it, an opaque directory stops the search downwards. COPY --from,
``RUN --mount=…,from=`` and "does the destination dir exist" use it; it never follows a link
on the host: the image's links are resolved inside the image (`MergedView.resolve`).

``LayerBuilder`` streams a tar straight into the content store's verified writer; members
are added in the caller's (sorted) order with numeric owners, so equal inputs give equal
layers (and therefore stable image ids).
"""

from __future__ import annotations

import enum
import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from engine.content import Blob, ContentStore
from engine.root_paths import resolve_relative
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
        """The real path of `rel` in the topmost layer that has it, None when the union has
        nothing there. Never through a link: in a layer, a link (or file, or whiteout) where
        `rel` needs a directory hides what is below it, as in overlayfs; `resolve` is what
        follows the image's links."""
        rel = rel.strip("/")
        if rel in ("", "."):
            return self.lowers[0] if self.lowers else None
        parts = rel.split("/")
        for layer in self.lowers:
            blocked = missing = False
            for n in range(1, len(parts)):
                ancestor = layer.joinpath(*parts[:n])
                try:
                    mode = os.lstat(ancestor).st_mode
                except FileNotFoundError:
                    missing = True
                    break
                if not stat.S_ISDIR(mode):
                    return None
                if _is_opaque(ancestor):
                    blocked = True
            candidate = layer.joinpath(*parts)
            if not missing and os.path.lexists(candidate):
                return None if _is_whiteout(candidate) else candidate
            if blocked:
                return None
        return None

    def resolve(self, rel: str) -> str:
        """`rel` as a process in a container of the image reaches it: the image's links
        followed inside the image, never to the host (`engine.root_paths`); "" for the root.
        OSError on a link loop."""
        return resolve_relative(rel, self._read_link)

    def _read_link(self, rel: str) -> str | None:
        found = self.lookup(rel)
        return os.readlink(found) if found is not None and os.path.islink(found) else None

    def is_dir(self, rel: str) -> bool:
        found = self.lookup(rel)
        return found is not None and found.is_dir() and not found.is_symlink()

    def listdir(self, rel: str) -> list[str]:
        rel = rel.strip("/")
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        names: set[str] = set()
        hidden: set[str] = set()
        for layer in self.lowers:
            directory = layer.joinpath(*parts)
            kind = _directory_kind(layer, parts)
            if kind is _Kind.OTHER:
                break
            if kind is _Kind.MISSING:
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
        """(path, real path) of ``rel`` and everything below it, parents first, named below
        ``rel``: ``rel`` is found through the image's links (`resolve`), a link below it is
        an entry of its own. Nothing when ``rel`` leads nowhere."""
        name = rel.strip("/")
        try:
            real = self.resolve(name)
        except OSError:
            return
        yield from self._walk(name, real)

    def _walk(self, name: str, real: str) -> Iterator[tuple[str, Path]]:
        found = self.lookup(real)
        if found is None:
            return
        yield name, found
        if found.is_dir() and not found.is_symlink():
            for child in self.listdir(real):
                yield from self._walk(posixpath.join(name, child), posixpath.join(real, child))


class _Kind(enum.Enum):
    """What one layer has at a path, its parents looked at without following links."""

    MISSING = "missing"
    DIRECTORY = "directory"
    OTHER = "other"  # a file, link or whiteout: hides lower layers' entries below it


def _directory_kind(layer: Path, parts: list[str]) -> _Kind:
    for n in range(1, len(parts) + 1):
        try:
            mode = os.lstat(layer.joinpath(*parts[:n])).st_mode
        except FileNotFoundError:
            return _Kind.MISSING
        if not stat.S_ISDIR(mode):
            return _Kind.OTHER
    return _Kind.DIRECTORY


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
