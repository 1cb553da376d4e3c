"""Dockerfile → instructions with line numbers (pure).

Follows the Dockerfile reference: parser directives (``# escape=``, ``# syntax=``) at the top,
comment lines (also inside continuations), line continuation with the escape character,
case-insensitive instruction names, leading ``--flag=value`` options, and the JSON (exec)
form. Errors carry ``file:line`` of the instruction's first line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from engine.builder.errors import DockerfileError

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)
FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"}),
    "RUN": frozenset({"network", "security"}),
    "HEALTHCHECK": frozenset(
        {"interval", "timeout", "start-period", "start-interval", "retries"}
    ),
}
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_]*)\s*=\s*(.+?)\s*$")
_FLAG_RE = re.compile(r"^--([a-z][a-z0-9-]*)(?:=(.*))?$")


@dataclass(frozen=True)
class Instruction:
    """One instruction: ``args`` is the text after the flags; ``exec_form`` the JSON list."""

    keyword: str
    args: str
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    exec_form: tuple[str, ...] | None = None
    original: str = ""


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: `file` prefixes every error with file:line, and `escape` (from
    the `# escape=` directive) is needed again when the builder expands words in arguments."""

    file: str
    instructions: tuple[Instruction, ...]
    escape: str = "\\"


def _json_list(text: str) -> tuple[str, ...] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _split_flags(keyword: str, rest: str, file: str, line: int) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        token, _, remainder = rest.partition(" ")
        if token == "--":
            break
        match = _FLAG_RE.match(token)
        allowed = FLAGS.get(keyword, frozenset())
        if match is None or match[1] not in allowed:
            name = token.split("=", 1)[0]
            raise DockerfileError(file, line, f"unknown flag: {name} for {keyword}")
        if match[1] in ("exclude", "parents", "keep-git-dir", "checksum", "security"):
            raise DockerfileError(file, line, f"{keyword} {token.split('=')[0]} is not supported")
        flags[match[1]] = match[2] if match[2] is not None else "true"
        rest = remainder.lstrip()
    return flags, rest


def parse_dockerfile(text: str, file: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines()
    escape = "\\"
    index = 0
    # Parser directives: only at the very top, before any comment, blank line or instruction.
    seen: set[str] = set()
    while index < len(lines):
        match = _DIRECTIVE_RE.match(lines[index].strip())
        if match is None:
            break
        name = match[1].lower()
        if name in seen:
            raise DockerfileError(file, index + 1, f"only one {name} parser directive can be used")
        seen.add(name)
        if name == "escape":
            if match[2] not in ("\\", "`"):
                raise DockerfileError(
                    file, index + 1, f"invalid escape token '{match[2]}' does not match ` or \\"
                )
            escape = match[2]
        index += 1
    instructions: list[Instruction] = []
    while index < len(lines):
        raw = lines[index]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index + 1
        parts: list[str] = []
        current = raw.rstrip()
        while True:
            if current.endswith(escape) and not current.endswith(escape * 2):
                parts.append(current[: -len(escape)])
                index += 1
                while index < len(lines) and (
                    lines[index].strip().startswith("#") or not lines[index].strip()
                ):
                    index += 1  # comments and empty lines inside a continuation are dropped
                if index >= len(lines):
                    break
                current = lines[index].rstrip()
                continue
            parts.append(current)
            index += 1
            break
        logical = "".join(parts).strip()
        keyword_text, _, rest = logical.partition(" ")
        keyword = keyword_text.upper()
        if keyword not in INSTRUCTIONS:
            raise DockerfileError(file, start, f"unknown instruction: {keyword_text}")
        rest = rest.strip()
        if "\t" in keyword_text:
            keyword, _, more = keyword.partition("\t")
            rest = (more + " " + rest).strip()
        flags, rest = _split_flags(keyword, rest, file, start)
        if rest.startswith("<<"):
            raise DockerfileError(file, start, "heredocs (<<EOF) are not supported")
        exec_form = _json_list(rest) if keyword in (
            "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"
        ) else None
        if keyword == "HEALTHCHECK":
            exec_form = None
        if not rest and keyword not in ("RUN", "CMD", "ENTRYPOINT"):
            raise DockerfileError(file, start, f"{keyword} requires at least one argument")
        instructions.append(
            Instruction(
                keyword=keyword,
                args=rest,
                line=start,
                flags=flags,
                exec_form=exec_form,
                original=logical,
            )
        )
    if not instructions:
        raise DockerfileError(file, 1, "the Dockerfile is empty (no instructions)")
    first_real = next((i for i in instructions if i.keyword != "ARG"), None)
    if first_real is None or first_real.keyword != "FROM":
        line = first_real.line if first_real else instructions[0].line
        raise DockerfileError(
            file, line, "no build stage in current context: the first instruction must be FROM"
        )
    return Dockerfile(file=file, instructions=tuple(instructions), escape=escape)
