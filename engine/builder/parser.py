"""Dockerfile → instructions with line numbers (pure).

Follows the Dockerfile reference: parser directives (``# escape=``, ``# syntax=``) at the top,
comment lines (also inside continuations), line continuation with the escape character,
case-insensitive instruction names, leading ``--flag=value`` options, and the JSON (exec)
form. Errors carry ``file:line`` of the instruction's first line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from engine.builder.errors import DockerfileError
from engine.builder.heredoc import HEREDOC_KEYWORDS, Heredoc, is_terminator, markers_in

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
    "RUN": frozenset({"network", "security", "mount"}),
    "HEALTHCHECK": frozenset(
        {"interval", "timeout", "start-period", "start-interval", "retries"}
    ),
}
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
DIRECTIVES = frozenset({"syntax", "escape", "check"})  # `syntax` and `check` are ignored
_FLAG_RE = re.compile(r"^--([a-z][a-z0-9-]*)(?:=(.*))?$")


@dataclass(frozen=True)
class Instruction:
    """One instruction: ``args`` is the text after the flags; ``exec_form`` the JSON list;
    ``mounts`` the raw values of ``RUN --mount`` (repeatable); ``heredocs`` the bodies of the
    ``<<EOF`` markers on the line, in order."""

    keyword: str
    args: str
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    exec_form: tuple[str, ...] | None = None
    original: str = ""
    mounts: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    end_line: int = 0  # its last line (continuations, heredocs), for `build --check`
    empty_continuation: bool = False  # a blank line inside its continuation (a lint warning)


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: `file` prefixes every error with file:line, and `escape` (from
    the `# escape=` directive) is needed again when the builder expands words in arguments."""

    file: str
    instructions: tuple[Instruction, ...]
    escape: str = "\\"
    check: str = ""  # the `# check=` directive (skip=RULES;error=BOOL) of `build --check`


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


def _flag_token(rest: str) -> tuple[str, str]:
    """The first blank-separated token of `rest` with its quotes removed (BuildKit's flag
    lexer: ``--mount="type=bind,target=/a b"`` is one flag), and what follows it."""
    out: list[str] = []
    pos = 0
    while pos < len(rest) and rest[pos] not in " \t":
        char = rest[pos]
        if char in "'\"":
            end = rest.find(char, pos + 1)
            end = len(rest) if end < 0 else end
            out.append(rest[pos + 1 : end])
            pos = end + 1
            continue
        out.append(char)
        pos += 1
    return "".join(out), rest[pos:].lstrip()


def _split_flags(
    keyword: str, rest: str, file: str, line: int
) -> tuple[dict[str, str], tuple[str, ...], str]:
    """Leading ``--name=value`` flags: single ones in a dict, the repeatable ``--mount`` in
    order of appearance."""
    flags: dict[str, str] = {}
    mounts: list[str] = []
    while rest.startswith("--"):
        token, remainder = _flag_token(rest)
        if token == "--":
            break
        match = _FLAG_RE.match(token)
        allowed = FLAGS.get(keyword, frozenset())
        if match is None or match[1] not in allowed:
            name = token.split("=", 1)[0]
            raise DockerfileError(file, line, f"unknown flag: {name} for {keyword}")
        if match[1] in ("exclude", "parents", "keep-git-dir", "checksum"):
            raise DockerfileError(file, line, f"{keyword} {token.split('=')[0]} is not supported")
        value = match[2] if match[2] is not None else "true"
        if match[1] == "mount":
            mounts.append(value)
        else:
            flags[match[1]] = value
        rest = remainder
    return flags, tuple(mounts), rest


def _physical_lines(text: str) -> list[str]:
    """Lines with their endings kept (heredoc bodies are taken verbatim); only \\n ends a
    line, as in BuildKit (str.splitlines would also split on form feeds and the like)."""
    text = text.removeprefix("\ufeff")
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def _directives(lines: list[str], file: str) -> tuple[dict[str, str], int]:
    """The parser directives (name -> value; `escape` checked) and the index of the first
    line after them. Only known directives count; an unknown one, a comment, a blank line or
    an instruction ends them (the Dockerfile reference)."""
    seen: dict[str, str] = {}
    index = 0
    while index < len(lines):
        match = _DIRECTIVE_RE.match(lines[index].strip())
        if match is None or match[1].lower() not in DIRECTIVES:
            break
        name = match[1].lower()
        if name in seen:
            raise DockerfileError(file, index + 1, f"only one {name} parser directive can be used")
        seen[name] = match[2]
        if name == "escape" and match[2] not in ("\\", "`"):
            raise DockerfileError(
                file, index + 1, f"invalid escape token '{match[2]}' does not match ` or \\"
            )
        index += 1
    return seen, index


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _logical_line(lines: list[str], index: int, escape: str) -> tuple[str, int, bool]:
    """The instruction starting at `index` with its continuation lines joined, the index of
    the line after it, and whether a blank line was inside the continuation. Comment and
    blank lines inside a continuation are dropped."""
    parts: list[str] = []
    current = lines[index].rstrip()
    blank = False
    while True:
        if current.endswith(escape) and not current.endswith(escape * 2):
            parts.append(current[: -len(escape)])
            index += 1
            while index < len(lines) and _is_blank_or_comment(lines[index]):
                blank = blank or not lines[index].strip()
                index += 1
            if index >= len(lines):
                break
            current = lines[index].rstrip()
            continue
        parts.append(current)
        index += 1
        break
    return "".join(parts).strip(), index, blank


def _read_heredocs(
    lines: list[str], index: int, markers: list[Heredoc], where: tuple[str, int, str]
) -> tuple[tuple[Heredoc, ...], int]:
    """The bodies of `markers`, one after the other, from line `index` on."""
    file, start, keyword = where
    bodies: list[Heredoc] = []
    for marker in markers:
        content: list[str] = []
        while True:
            if index >= len(lines):
                raise DockerfileError(
                    file, start, f"{keyword}: unterminated heredoc: no line {marker.name!r}"
                    " ends it"
                )
            line = lines[index]
            index += 1
            if is_terminator(line, marker):
                break
            content.append(line)
        bodies.append(replace(marker, content="".join(content)))
    return tuple(bodies), index


def _heredoc_markers(keyword: str, rest: str) -> list[Heredoc]:
    """Markers on a line that may carry heredocs: RUN/COPY/ADD in shell form, also as an
    ONBUILD trigger."""
    if keyword == "ONBUILD":
        keyword, _, rest = rest.partition(" ")
        keyword = keyword.upper()
        _flags_text, rest = _strip_flag_text(rest.strip())
    if keyword not in HEREDOC_KEYWORDS or _json_list(rest) is not None or "<<" not in rest:
        return []
    return markers_in(rest)


def _strip_flag_text(rest: str) -> tuple[str, str]:
    flags = []
    while rest.startswith("--"):
        token, rest = _flag_token(rest)
        flags.append(token)
    return " ".join(flags), rest


def parse_dockerfile(text: str, file: str = "Dockerfile") -> Dockerfile:
    lines = _physical_lines(text)
    directives, index = _directives(lines, file)
    escape = directives.get("escape", "\\")
    instructions: list[Instruction] = []
    while index < len(lines):
        if _is_blank_or_comment(lines[index]):
            index += 1
            continue
        start = index + 1
        logical, index, blank = _logical_line(lines, index, escape)
        keyword_text, _, rest = logical.partition(" ")
        keyword = keyword_text.upper()
        if "\t" in keyword_text:
            keyword_text, _, more = keyword_text.partition("\t")
            keyword = keyword_text.upper()
            rest = more + " " + rest
        if keyword not in INSTRUCTIONS:
            raise DockerfileError(file, start, f"unknown instruction: {keyword_text}")
        rest = rest.strip()
        flags, mounts, rest = _split_flags(keyword, rest, file, start)
        heredocs: tuple[Heredoc, ...] = ()
        markers = _heredoc_markers(keyword, rest)
        if markers:
            heredocs, index = _read_heredocs(lines, index, markers, (file, start, keyword))
        exec_form = _json_list(rest) if keyword in (
            "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"
        ) else None
        if not rest and keyword not in ("RUN", "CMD", "ENTRYPOINT"):
            raise DockerfileError(file, start, f"{keyword} requires at least one argument")
        if keyword == "ONBUILD" and heredocs:
            # The trigger is stored as text and parsed again in the child build: keep the
            # bodies with it.
            rest += "".join("\n" + h.content + h.name for h in heredocs)
            heredocs = ()
        instructions.append(
            Instruction(
                keyword=keyword,
                args=rest,
                line=start,
                flags=flags,
                exec_form=exec_form,
                original=logical,
                mounts=mounts,
                heredocs=heredocs,
                end_line=index,
                empty_continuation=blank,
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
    return Dockerfile(
        file=file, instructions=tuple(instructions), escape=escape,
        check=directives.get("check", ""),
    )
