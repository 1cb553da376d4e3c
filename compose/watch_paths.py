"""Which changed host files a `develop.watch` rule takes, and where they go in the container.

docker compose's rules (pkg/compose/watch.go, pkg/watch): a file counts for a rule when it is
the rule's `path` or under it, matches one of its `include` patterns (when it has any), and
is ignored by none of these (each pattern in .dockerignore syntax, a pattern that names a
directory taking everything below it):
- the build context's `.dockerignore` (or the Dockerfile's own `<Dockerfile>.dockerignore`),
  rooted at the context;
- editors' temporary files (vim swap files and `4913` probe, emacs `.#` locks, `~` backups,
  JetBrains' `___jb_tmp___`/`___jb_old___` and `.idea/`);
- a `.git` directory;
- the rule's own `ignore` patterns, rooted at the rule's `path`.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from compose.develop import WatchRule

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from engine.api import DockerIgnore

# compose's EphemeralPathMatcher, anchored at / (so matched against the whole path).
EDITOR_TEMP_PATTERNS = (
    "**/*___jb_old___", "**/*___jb_tmp___", "**/.idea/**",  # JetBrains
    "**/.#*",  # emacs lock files
    "**/4913", "**/*~", "**/.*.swp", "**/.*.swx", "**/.*.swo", "**/.*.swn",  # vim
)


@dataclass(frozen=True)
class PathMapping:
    """A changed host file and where a sync puts it in the container (None for rules with no
    `target`: rebuild and restart only need to know that something changed)."""

    host_path: str
    container_path: str | None


def _relative(path: str, root: str) -> str | None:
    """`path` relative to `root` ("." for root itself), or None when outside it."""
    if path == root:
        return "."
    prefix = root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else None


def _patterns(patterns: tuple[str, ...] | list[str]) -> DockerIgnore:
    from engine.api import DockerIgnore

    return DockerIgnore(list(patterns))


@dataclass(frozen=True)
class RootedPatterns:
    """.dockerignore-style patterns anchored at `root`: paths outside it never match."""

    root: str
    patterns: DockerIgnore

    def matches(self, path: str) -> bool:
        rel = _relative(path, self.root)
        return rel is not None and rel != "." and self.patterns.ignored(rel)


def read_dockerignore(context: str, dockerfile: str | None) -> list[str]:
    """The build's ignore patterns: `<Dockerfile>.dockerignore` in the context wins over the
    context's `.dockerignore` (as docker compose reads them); none when neither exists."""
    candidates = [os.path.join(context, ".dockerignore")]
    if dockerfile:
        candidates.insert(0, os.path.join(context, dockerfile + ".dockerignore"))
    for candidate in candidates:
        try:
            with open(candidate, encoding="utf-8") as file:
                return file.read().splitlines()
        except FileNotFoundError:
            continue
    return []


class RuleMatcher:
    """One rule with its patterns compiled once: `mapping(path)` for every changed path."""

    def __init__(self, rule: WatchRule, build_ignore: RootedPatterns | None) -> None:
        self.rule = rule
        self.root = rule.path.rstrip("/") or "/"
        self.include = RootedPatterns(self.root, _patterns(rule.include)) if rule.include else None
        self.ignore = RootedPatterns(self.root, _patterns(rule.ignore))
        self.build_ignore = build_ignore
        self.editor_temp = RootedPatterns("/", _patterns(EDITOR_TEMP_PATTERNS))

    def ignored(self, path: str) -> bool:
        return (
            ".git" in path.split("/")
            or self.editor_temp.matches(path)
            or (self.build_ignore is not None and self.build_ignore.matches(path))
            or self.ignore.matches(path)
        )

    def mapping(self, path: str) -> PathMapping | None:
        """Where `path` (absolute, on the host) goes, or None when this rule does not take it."""
        rel = _relative(path, self.root)
        if rel is None:
            return None
        if self.include is not None and not self.include.matches(path):
            return None
        if self.ignored(path):
            return None
        target = self.rule.target
        if target is None:
            return PathMapping(path, None)
        return PathMapping(path, target if rel == "." else posixpath.join(target, rel))
