"""``.dockerignore`` matching with Docker's rules (moby/patternmatcher), pure.

Patterns are anchored at the context root, cleaned like ``filepath.Clean``; ``*`` and ``?``
do not cross ``/``, ``**`` matches any number of directories; a pattern that matches a
directory excludes everything below it; ``!pattern`` re-includes; the last match wins.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


def _translate(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    out.append("$")
    return re.compile("".join(out))


@dataclass(frozen=True)
class _Rule:
    """One .dockerignore pattern, compiled once; `exclusion` (a leading `!`) re-includes, and
    the last rule matching a path decides."""

    regex: re.Pattern[str]
    exclusion: bool


class DockerIgnore:
    def __init__(self, patterns: list[str]) -> None:
        rules = []
        for raw in patterns:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:].strip()
            text = posixpath.normpath(text.lstrip("/")) if text.strip("/") else "."
            rules.append(_Rule(_translate(text), exclusion))
        self.rules = tuple(rules)

    @classmethod
    def from_text(cls, text: str) -> DockerIgnore:
        return cls(text.splitlines())

    def ignored(self, rel_path: str) -> bool:
        """Is ``rel_path`` (relative to the context, ``/``-separated) excluded?"""
        if not self.rules:
            return False
        parents = []
        parts = rel_path.split("/")
        for n in range(1, len(parts)):
            parents.append("/".join(parts[:n]))
        matched = False
        for rule in self.rules:
            if rule.regex.match(rel_path) or any(rule.regex.match(p) for p in parents):
                matched = not rule.exclusion
        return matched

    def may_contain_included(self, rel_dir: str) -> bool:
        """An ignored dir must still be walked if an exception could re-include inside it."""
        return any(r.exclusion for r in self.rules)
