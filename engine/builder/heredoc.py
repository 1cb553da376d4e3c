"""Here-documents in a Dockerfile (``RUN <<EOF``, ``COPY <<a.txt /dir/``), as BuildKit's
parser reads them (pure).

A heredoc marker is a whole shell word ``[n]<<[-]NAME`` of a ``RUN``/``COPY``/``ADD`` line
(``ONBUILD`` of one too) in shell form; its body is the lines after the instruction, up to a
line equal to NAME (after dropping leading tabs when the marker is ``<<-``). A quoted NAME
(``<<'EOF'``, ``<<"EOF"``) means "do not expand variables in the body" for COPY; RUN hands the
body to the shell, which decides for itself. Bodies keep their line endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER_RE = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_LEADING_TABS_RE = re.compile(r"^\t+", re.MULTILINE)
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})


@dataclass(frozen=True)
class Heredoc:
    """One here-document: `name` is the delimiter with its quotes removed, `content` the body
    as written (tabs not yet stripped: `chomped` does that), `expand` False when the
    delimiter was quoted."""

    name: str
    content: str = ""
    chomp: bool = False
    expand: bool = True

    @property
    def chomped(self) -> str:
        """The body as a command or file sees it (leading tabs gone for ``<<-``)."""
        return _LEADING_TABS_RE.sub("", self.content) if self.chomp else self.content


def raw_words(line: str) -> list[str]:
    """Split on unquoted blanks, keeping quotes and backslashes in the words (BuildKit's
    lexer with RawQuotes and RawEscapes), so a quoted ``"<<EOF"`` stays a literal word."""
    out: list[str] = []
    current: list[str] = []
    started = False
    pos = 0
    while pos < len(line):
        char = line[pos]
        if char in " \t":
            if started:
                out.append("".join(current))
                current, started = [], False
            pos += 1
            continue
        started = True
        if char == "\\" and pos + 1 < len(line):
            current.append(line[pos : pos + 2])
            pos += 2
            continue
        if char in "'\"":
            end = _closing_quote(line, pos)
            current.append(line[pos : end + 1])
            pos = end + 1
            continue
        current.append(char)
        pos += 1
    if started:
        out.append("".join(current))
    return out


def _closing_quote(line: str, start: int) -> int:
    quote = line[start]
    pos = start + 1
    while pos < len(line):
        if quote == '"' and line[pos] == "\\":
            pos += 2
            continue
        if line[pos] == quote:
            return pos
        pos += 1
    return len(line) - 1  # unterminated: the rest of the line is the word


def _unquote(text: str) -> tuple[str, bool] | None:
    """The delimiter with quotes and escapes removed, and whether any quote was removed;
    None when it is not one word."""
    out: list[str] = []
    quoted = False
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            return None
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if char in "'\"":
            end = text.find(char, pos + 1)
            if end < 0:
                return None
            out.append(text[pos + 1 : end])
            quoted = True
            pos = end + 1
            continue
        out.append(char)
        pos += 1
    return "".join(out), quoted


def parse_marker(word: str) -> Heredoc | None:
    """The heredoc a word opens (``<<EOF``, ``<<-'EOF'``, ``3<<EOF``), else None."""
    match = _MARKER_RE.match(word)
    if match is None or not match[3]:
        return None
    unquoted = _unquote(match[3])
    if unquoted is None or not unquoted[0]:
        return None
    name, quoted = unquoted
    return Heredoc(name=name, chomp=match[2] == "-", expand=not quoted)


def markers_in(line: str) -> list[Heredoc]:
    """Every heredoc a logical line opens, in order (their bodies follow in that order)."""
    return [m for m in (parse_marker(w) for w in raw_words(line)) if m is not None]


def is_terminator(line: str, heredoc: Heredoc) -> bool:
    text = line.rstrip("\r\n")
    if heredoc.chomp:
        text = text.lstrip("\t")
    return text == heredoc.name


def run_script(command: str, heredocs: tuple[Heredoc, ...]) -> tuple[str, Heredoc | None]:
    """What the shell of a ``RUN`` with heredocs gets, as BuildKit builds it: a lone
    ``<<EOF`` runs its body as the script (or, when the body starts with ``#!``, returns
    that heredoc as a file to execute); otherwise the line and the bodies are joined back
    into one script for the shell to read its own heredocs."""
    only = parse_marker(command.strip())
    if only is not None and heredocs:
        first = heredocs[0]
        if first.content.startswith("#!"):
            return "", first
        return first.chomped, None
    script = command
    for heredoc in heredocs:
        script += "\n" + heredoc.content + heredoc.name
    return script, None
