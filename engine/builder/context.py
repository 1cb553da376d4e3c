"""The build context: files under the context dir minus ``.dockerignore``, glob resolution
for COPY/ADD sources, and the content hash that keys the layer cache."""

from __future__ import annotations

import glob
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from pathlib import Path

from engine.builder.dockerignore import DockerIgnore
from engine.errors import InvalidArgumentError

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
        """Context-relative paths a COPY source names (glob-expanded, ignored ones dropped)."""
        rel = self._clean(pattern)
        if rel == ".":
            return ["."]
        if _MAGIC & set(rel):
            found = sorted(glob.glob(rel, root_dir=self.root, include_hidden=True))
        else:
            found = [rel] if os.path.lexists(self.root / rel) else []
        return [f for f in found if not self.ignore.ignored(f)]

    def path(self, rel: str) -> Path:
        return self.root if rel == "." else self.root / rel

    def walk(self, rel: str) -> Iterator[tuple[str, Path]]:
        """(context-relative path, host path) of ``rel`` and all non-ignored entries below."""
        top = self.path(rel)
        yield rel, top
        if not top.is_dir() or top.is_symlink():
            return
        for current, dirs, files in os.walk(top):
            dirs.sort()
            base = os.path.relpath(current, self.root)
            for name in sorted([*dirs, *files]):
                child = name if base == "." else f"{base}/{name}"
                if self.ignore.ignored(child):
                    if name in dirs and not self.ignore.may_contain_included(child):
                        dirs.remove(name)
                    continue
                yield child, Path(current) / name


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
