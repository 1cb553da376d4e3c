"""`.env` / `env_file` parsing with docker compose's rules.

Lines are `KEY=VALUE` (optionally `export KEY=VALUE`); `#` starts a comment (inside unquoted
values only after whitespace); single quotes are literal; double quotes understand `\\n` etc.
and `${VAR}`; unquoted values are trimmed and interpolated. A bare `KEY` line means "take it
from the environment" and is kept as None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from compose.errors import ComposeFileError, ComposeFileNotFoundError, Problem
from compose.interpolation import InterpolationError, interpolate

_KEY = re.compile(r"^\s*(?:export\s+)?([^\s=#]+)\s*(=)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "\\$"}


def parse_dotenv(
    text: str, file: str, lookup: Callable[[str], str | None] | None = None
) -> dict[str, str | None]:
    """Parse env-file text; `lookup` resolves `${VAR}` not defined earlier in the file."""
    result: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name in result and result[name] is not None:
            return result[name]
        return lookup(name) if lookup else None

    lines = text.splitlines()
    i = 0
    problems: list[Problem] = []
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _KEY.match(line)
        if not match:
            problems.append(Problem(f"unexpected character in variable name: {stripped!r}",
                                    file, lineno))
            continue
        key = match.group(1)
        if not match.group(2):
            result[key] = lookup(key) if lookup else None
            continue
        raw = line[match.end() :].lstrip()
        try:
            if raw.startswith(("'", '"')):
                quote = raw[0]
                body = raw[1:]
                # Quoted values may span lines until the closing quote.
                while _closing_quote(body, quote) < 0 and i < len(lines):
                    body += "\n" + lines[i]
                    i += 1
                end = _closing_quote(body, quote)
                if end < 0:
                    raise InterpolationError(f"unterminated quoted value for {key}")
                value = body[:end]
                if quote == '"':
                    value = _unescape(value)
                    value = interpolate(value, resolve).replace("\\$", "$")
            else:
                value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
                value = interpolate(value, resolve)
        except InterpolationError as exc:
            problems.append(Problem(str(exc), file, lineno, key))
            continue
        result[key] = value
    if problems:
        raise ComposeFileError(problems)
    return result


def parse_raw_env(
    text: str, file: str, lookup: Callable[[str], str | None] | None = None
) -> dict[str, str | None]:
    """The `raw` env_file format docker compose registers (`docker run --env-file`'s parser):
    no interpolation and no quotes; a value is the rest of the line after the first `=`. A bare
    `KEY` takes its value from the environment, or is left out."""
    result: dict[str, str | None] = {}
    problems: list[Problem] = []
    for lineno, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not key or any(c in key for c in " \t\n\v\f\r"):
            reason = f"variable '{key}' contains whitespaces" if key else \
                f"no variable name on line '{line}'"
            problems.append(Problem(f"failed to parse env_file {file}: {reason}", file, lineno))
        elif equals:
            result[key] = value
        elif lookup is not None and lookup(key) is not None:
            result[key] = lookup(key)
    if problems:
        raise ComposeFileError(problems)
    return result


ENV_FILE_FORMATS = ("", "raw")


def _closing_quote(body: str, quote: str) -> int:
    i = 0
    while i < len(body):
        if body[i] == "\\" and quote == '"':
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return -1


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value)


def read_dotenv(
    path: Path,
    lookup: Callable[[str], str | None] | None = None,
    *,
    required: bool = True,
    env_format: str = "",
) -> dict[str, str | None]:
    """Read an env file from disk (`env_format` "raw": see parse_raw_env); a missing required
    file is a not-found error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not required:
            return {}
        raise ComposeFileNotFoundError(f"env file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ComposeFileError([Problem(f"cannot read env file: {exc}", str(path))]) from None
    parse = parse_raw_env if env_format == "raw" else parse_dotenv
    return parse(text, str(path), lookup)


def chain_lookup(*layers: Mapping[str, str | None]) -> Callable[[str], str | None]:
    """Lookup that tries each mapping in order (first wins), skipping None values."""

    def lookup(name: str) -> str | None:
        for layer in layers:
            value = layer.get(name)
            if value is not None:
                return value
        return None

    return lookup
