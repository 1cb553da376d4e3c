"""Docker's shell-word lexer for Dockerfile arguments (``moby/buildkit/frontend/dockerfile/
shell``): quotes, the escape character, and ``$VAR`` / ``${VAR:-default}`` substitution.

Pure. ``words`` splits into words (COPY sources, EXPOSE, ENV pairs) with quotes removed;
``word`` keeps whitespace (WORKDIR, USER). Unset variables expand to "".
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import InvalidArgumentError


class _Lexer:
    def __init__(
        self, text: str, env: Mapping[str, str], escape: str, quotes: bool = True
    ) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape
        self.quotes = quotes  # False: quotes are ordinary characters (heredoc bodies)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def run(self, split: bool) -> list[str]:
        out: list[str] = []
        current: list[str] = []
        started = False
        while self.pos < len(self.text):
            char = self.take()
            if split and char in " \t\n":
                if started:
                    out.append("".join(current))
                    current, started = [], False
                continue
            started = True
            if char == self.escape:
                nxt = self.take()
                current.append(nxt)
            elif char == "'" and self.quotes:
                end = self.text.find("'", self.pos)
                if end < 0:
                    raise InvalidArgumentError(f"unexpected end of statement: {self.text!r}")
                current.append(self.text[self.pos : end])
                self.pos = end + 1
            elif char == '"' and self.quotes:
                current.append(self.double_quoted())
            elif char == "$":
                value = self.dollar()
                if not split:
                    current.append(value)
                    continue
                # Unquoted expansions are split on whitespace, as in the shell (and Docker).
                for piece in value:
                    if piece in " \t\n":
                        if current:
                            out.append("".join(current))
                            current = []
                        started = False
                    else:
                        current.append(piece)
                        started = True
            else:
                current.append(char)
        if started:
            out.append("".join(current))
        return out

    def double_quoted(self) -> str:
        parts: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise InvalidArgumentError(f"unexpected end of statement: {self.text!r}")
            char = self.take()
            if char == '"':
                return "".join(parts)
            if char == self.escape and self.peek() in ('"', "$", self.escape):
                parts.append(self.take())
            elif char == "$":
                parts.append(self.dollar())
            else:
                parts.append(char)

    def name(self) -> str:
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.pos += 1
        return self.text[start : self.pos]

    def dollar(self) -> str:
        if self.peek() == "{":
            self.take()
            name = self.name()
            if not name:
                raise InvalidArgumentError(f"bad substitution in {self.text!r}")
            if self.peek() == "}":
                self.take()
                return self.env.get(name, "")
            colon = self.peek() == ":"
            if colon:
                self.take()
            op = self.take()
            depth, start = 1, self.pos
            while self.pos < len(self.text):
                if self.text[self.pos] == "{":
                    depth += 1
                elif self.text[self.pos] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                self.pos += 1
            if self.pos >= len(self.text):
                raise InvalidArgumentError(f"missing '}}' in {self.text!r}")
            raw_word = self.text[start : self.pos]
            self.take()
            value = self.env.get(name)
            is_set = value is not None and (value != "" or not colon)
            if op == "-":
                return (value or "") if is_set else word(raw_word, self.env, self.escape)
            if op == "+":
                return word(raw_word, self.env, self.escape) if is_set else ""
            if op == "?":
                if not is_set:
                    raise InvalidArgumentError(
                        f"{name}: {word(raw_word, self.env, self.escape) or 'is not set'}"
                    )
                return value or ""
            raise InvalidArgumentError(f"unsupported modifier ({op}) in substitution {self.text!r}")
        name = self.name()
        if not name:
            return "$"
        return self.env.get(name, "")


def words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    return _Lexer(text, env, escape).run(split=True)


def word(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    return "".join(_Lexer(text, env, escape).run(split=False))


def heredoc_text(text: str, env: Mapping[str, str]) -> str:
    """A COPY heredoc body with ``$VAR`` expanded and backslash escapes applied, quotes left
    as they are (BuildKit's lexer with SkipProcessQuotes; always ``\\``, whatever the
    escape directive says)."""
    return "".join(_Lexer(text, env, "\\", quotes=False).run(split=False))


def key_values(text: str, env: Mapping[str, str], escape: str = "\\") -> list[tuple[str, str]]:
    """``ENV``/``LABEL``/``ARG`` pairs: ``a=1 b="x y"``, or the legacy ``KEY some value``."""
    raw = text.strip()
    first = raw.split(None, 1)[0] if raw else ""
    if "=" not in first:
        parts = raw.split(None, 1)
        if len(parts) < 2:
            raise InvalidArgumentError("requires two arguments: KEY VALUE or KEY=VALUE")
        return [(parts[0], word(parts[1].strip(), env, escape))]
    pairs = []
    for item in words(raw, env, escape):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgumentError(
                f"syntax error - can't find = in {item!r}. Must be KEY=VALUE"
            )
        pairs.append((key, value))
    return pairs
