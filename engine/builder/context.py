"""The build context: files under the context dir minus ``.dockerignore``, glob resolution
for COPY/ADD sources, and the content hash that keys the layer cache.

A source's links are followed inside the context only (`BuildContext.real`): a link to
``/etc`` or ``../..`` in a context must never let a build copy or bind a host file."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from pathlib import Path

from engine.builder.dockerignore import DockerIgnore
from engine.errors import InvalidArgumentError
from engine.root_paths import resolve_relative

_MAGIC = set("*?[")


class BuildContext:
    def __init__(
        self, root: Path, dockerfile_rel: str | None = None, dockerfile: Path | None = None
    ) -> None:
        """`dockerfile`: the Dockerfile read from disk, whose own `<name>.dockerignore` beside
        it wins over the context's `.dockerignore` (BuildKit's rule, docker compose's
        default builder: one context can serve a dev and a prod Dockerfile)."""
        if not root.is_dir():
            raise InvalidArgumentError(
                f"build context {root} is not a directory", subject=str(root)
            )
        self.root = root.resolve()
        ignore_file = self.root / ".dockerignore"
        if dockerfile is not None:
            own = dockerfile.with_name(dockerfile.name + ".dockerignore")
            if own.is_file():
                ignore_file = own
        self.ignore = DockerIgnore.from_text(
            ignore_file.read_text() if ignore_file.is_file() else ""
        )
        self.dockerfile_rel = dockerfile_rel

    def _clean(self, pattern: str) -> str:
        rel = posixpath.normpath("/" + pattern).lstrip("/") or "."
        if pattern.replace("\\", "/").split("/").count("..") and not (
            (self.root / rel).resolve().is_relative_to(self.root)
        ):
            raise InvalidArgumentError(f"forbidden path outside the build context: {pattern}")
        return rel

    def resolve(self, pattern: str) -> list[str]:
        """Context-relative names a COPY source names (glob-expanded), as written: those that
        are missing, ignored or lead nowhere through their links are dropped."""
        rel = self._clean(pattern)
        if rel == ".":
            return ["."]
        names = self._glob(rel) if _MAGIC & set(rel) else [rel]
        return [name for name in names if self.real(name) is not None]

    def real(self, rel: str) -> str | None:
        """Where `rel` is in the context as BuildKit sees it (its copy of the context): links
        followed inside the context, an absolute one from the context's root, ``..`` never
        above it, an ignored entry not there at all. The real context-relative path ("." for
        the root), or None when nothing is there: never a path outside the context."""
        resolved = self._locate(rel)
        if resolved is None or (resolved != "." and self.ignore.ignored(resolved)):
            return None
        return resolved

    def _locate(self, rel: str) -> str | None:
        """`real` but for `rel`'s own .dockerignore verdict (the links on the way count)."""
        try:
            resolved = resolve_relative(rel, self._read_link)
        except OSError:  # a link loop, or a link .dockerignore leaves out
            return None
        if not resolved:
            return "."
        return resolved if os.path.lexists(self.root / resolved) else None

    def _read_link(self, rel: str) -> str | None:
        path = self.root / rel
        if not path.is_symlink():
            return None
        if self.ignore.ignored(rel):  # not in the context: nothing is reached through it
            raise FileNotFoundError(errno.ENOENT, "excluded by .dockerignore", rel)
        return os.readlink(path)

    def _glob(self, rel: str) -> list[str]:
        """BuildKit's wildcard matching: the part before the first wildcard is resolved in
        the context, the rest matched component by component against what is there, without
        following links on the way (a matched name's own links are followed by `real`)."""
        parts = rel.split("/")
        first = next(n for n, part in enumerate(parts) if _MAGIC & set(part))
        base = "/".join(parts[:first])
        real = self._locate(base)  # an ignored dir may hold re-included matches
        if real is None:
            return []
        found = [(base, self.root / real)]
        for depth, pattern in enumerate(parts[first:], start=first + 1):
            below = []
            for name, directory in found:
                try:
                    entries = sorted(os.listdir(directory))
                except OSError:
                    continue
                for entry in entries:
                    path = directory / entry
                    if not fnmatch.fnmatchcase(entry, pattern) or (
                        depth < len(parts) and not _real_dir(path)
                    ):
                        continue
                    below.append((f"{name}/{entry}" if name else entry, path))
            found = below
        return sorted(name for name, _ in found)

    def walk(self, rel: str) -> Iterator[tuple[str, Path]]:
        """(name, host path) of ``rel`` (found through its links, see `real`) and of every
        non-ignored entry below it, named below ``rel``; nothing when ``rel`` is not in the
        context. A link below ``rel`` is an entry of its own, never followed."""
        real = self.real(rel)
        if real is None:
            return
        top = self.root / real
        yield rel, top
        if not _real_dir(top):
            return
        for current, dirs, files in os.walk(top):
            dirs.sort()
            base = os.path.relpath(current, self.root)
            shown = os.path.relpath(current, top)
            for name in sorted([*dirs, *files]):
                child = name if base == "." else f"{base}/{name}"
                if self.ignore.ignored(child):
                    if name in dirs and not self.ignore.may_contain_included(child):
                        dirs.remove(name)
                    continue
                below = name if shown == "." else f"{shown}/{name}"
                yield (below if rel == "." else f"{rel}/{below}"), Path(current) / name


def _real_dir(path: Path) -> bool:
    """A directory itself, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def hash_tree(entries: list[tuple[str, Path]]) -> str:
    """Digest over names, modes and contents (not mtimes): the cache key of a COPY."""
    digest = hashlib.sha256()
    for rel, path in entries:
        st = os.lstat(path)
        digest.update(f"{rel}\0{stat.S_IMODE(st.st_mode):o}\0{stat.S_IFMT(st.st_mode)}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            digest.update(os.readlink(path).encode())
        elif stat.S_ISREG(st.st_mode):
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()
