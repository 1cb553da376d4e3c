"""Variable substitution in stack-file values, with docker compose's syntax and semantics.

Supported: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`,
`${VAR:+alt}`, `${VAR+alt}`, nesting inside default/alt values, and `$$` for a literal `$`.
Lookups go through a callable so that callers decide precedence (shell env over `.env`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from compose.errors import Problem
from compose.yaml_source import KeyPath, Locations, Override, Reset, format_key

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

Lookup = Callable[[str], str | None]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A value could not be interpolated (bad syntax or a required variable missing)."""


# Values the schema allows as `boolean|string`, `integer|string` or `number|string` are cast
# after interpolation, as compose-go's interpolateTypeCastMapping does: `disable: "${X:-false}"`
# must be the boolean false, not the truthy string "false", and `cpus: two` must fail at load
# (naming file, line and key), not at `up`. `*` is any key or index, `[]` any list index.
_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE,
)


def _to_int(value: str) -> int:
    if not _GO_INT.fullmatch(value):
        raise InterpolationError(f'strconv.Atoi: parsing "{value}": invalid syntax')
    return int(value)


def _to_int64(value: str) -> int:
    if not _GO_INT.fullmatch(value):
        raise InterpolationError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
    return int(value)


def _to_float(value: str) -> float:
    if not _GO_FLOAT.fullmatch(value):
        raise InterpolationError(f'strconv.ParseFloat: parsing "{value}": invalid syntax')
    return float(value)


def _to_bool(value: str) -> bool:
    low = value.lower()
    if low in ("true", "y", "yes", "on"):
        return True
    if low in ("false", "n", "no", "off"):
        return False
    raise InterpolationError(f"invalid boolean: {value}")


_SERVICE_CASTS: dict[str, Callable[[str], Any]] = {
    "configs.[].mode": _to_int,
    "cpu_count": _to_int64,
    "cpu_percent": _to_float,
    "cpu_period": _to_int64,
    "cpu_quota": _to_int64,
    "cpu_rt_period": _to_int64,
    "cpu_rt_runtime": _to_int64,
    "cpus": _to_float,
    "cpu_shares": _to_int64,
    "init": _to_bool,
    "deploy.replicas": _to_int,
    "deploy.update_config.parallelism": _to_int,
    "deploy.update_config.max_failure_ratio": _to_float,
    "deploy.rollback_config.parallelism": _to_int,
    "deploy.rollback_config.max_failure_ratio": _to_float,
    "deploy.restart_policy.max_attempts": _to_int,
    "deploy.placement.max_replicas_per_node": _to_int,
    "healthcheck.retries": _to_int,
    "healthcheck.disable": _to_bool,
    "oom_kill_disable": _to_bool,
    "oom_score_adj": _to_int64,
    "pids_limit": _to_int64,
    "ports.[].target": _to_int,
    "privileged": _to_bool,
    "post_start.[].privileged": _to_bool,
    "pre_stop.[].privileged": _to_bool,
    "read_only": _to_bool,
    "scale": _to_int,
    "secrets.[].mode": _to_int,
    "stdin_open": _to_bool,
    "tty": _to_bool,
    "ulimits.*": _to_int,
    "ulimits.*.hard": _to_int,
    "ulimits.*.soft": _to_int,
    "volumes.[].read_only": _to_bool,
    "volumes.[].volume.nocopy": _to_bool,
    # Not in compose-go's table, but typed there (NanoCPUs, int64, uint16): a string that is
    # no number fails its load too.
    "deploy.resources.limits.cpus": _to_float,
    "deploy.resources.limits.pids": _to_int64,
    "deploy.resources.reservations.cpus": _to_float,
    "blkio_config.weight": _to_int,
    "blkio_config.weight_device.[].weight": _to_int,
}
_CASTS: dict[tuple[str, ...], Callable[[str], Any]] = {
    **{("services", "*", *k.split(".")): v for k, v in _SERVICE_CASTS.items()},
    **{(section, "*", flag): _to_bool for section, flag in (
        ("networks", "external"), ("networks", "internal"), ("networks", "attachable"),
        ("networks", "enable_ipv6"), ("volumes", "external"), ("secrets", "external"),
        ("configs", "external"),
    )},
}
_CAST_LAST = {pattern[-1] for pattern in _CASTS} - {"*"}


def _matches(path: KeyPath, pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(
        want == "*" or (want == "[]" and isinstance(got, int)) or want == got
        for got, want in zip(path, pattern, strict=True)
    )


def caster(path: KeyPath) -> Callable[[str], Any] | None:
    """The cast compose-go applies to a string at `path`, if any."""
    ulimit = len(path) == 4 and path[0] == "services" and path[2] == "ulimits"
    if not path or (path[-1] not in _CAST_LAST and not ulimit):
        return None
    return next((cast for pattern, cast in _CASTS.items() if _matches(path, pattern)), None)


def interpolate(text: str, lookup: Lookup, unset: set[str] | None = None) -> str:
    """Substitute every variable reference in `text`. `unset` collects the names referenced
    without a default that have no value (docker compose warns about each)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        if i + 1 < n and text[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if i + 1 < n and text[i + 1] == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                raise InterpolationError(f"invalid interpolation format: {text!r}")
            out.append(_braced(text[i + 2 : end], lookup, text, unset))
            i = end + 1
            continue
        match = _NAME.match(text, i + 1)
        if match:
            out.append(_plain(match.group(0), lookup, unset))
            i = match.end()
            continue
        # A lone `$` (e.g. at the end, or before a non-name char) is kept as docker compose does.
        out.append("$")
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Reference:
    """One variable a value refers to, as `config --variables` lists it (compose-go's
    Variable): its default (`:-`, `-`), its alternate value (`:+`, `+`), required (`:?`, `?`)."""

    name: str
    required: bool = False
    default: str = ""
    alternate: str = ""


def references(text: str) -> list[Reference]:
    """The variables `text` refers to, nested ones (in defaults) included; bad syntax yields
    what could be read (loading reports the error)."""
    found: list[Reference] = []
    i = 0
    while (i := text.find("$", i)) >= 0:
        if text.startswith("$$", i):
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            if end < 0:
                return found
            found += _braced_reference(text[i + 2 : end])
            i = end + 1
        elif match := _NAME.match(text, i + 1):
            found.append(Reference(match.group(0)))
            i = match.end()
        else:
            i += 1
    return found


def _braced_reference(body: str) -> list[Reference]:
    match = _NAME.match(body)
    if not match:
        return []
    rest = body[match.end() :]
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        return [Reference(match.group(0))] if not rest else []
    arg = rest[len(op) :]
    reference = Reference(
        match.group(0),
        required="?" in op,
        default=arg if "-" in op else "",
        alternate=arg if "+" in op else "",
    )
    return [reference, *references(arg)]


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing a `${` whose body starts at `start`; -1 if unbalanced."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _plain(name: str, lookup: Lookup, unset: set[str] | None) -> str:
    value = lookup(name)
    if value is None and unset is not None:
        unset.add(name)
    return value or ""


def _braced(body: str, lookup: Lookup, whole: str, unset: set[str] | None = None) -> str:
    match = _NAME.match(body)
    if not match:
        raise InterpolationError(f"invalid interpolation format: {whole!r}")
    name = match.group(0)
    rest = body[match.end() :]
    if not rest:
        return _plain(name, lookup, unset)
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise InterpolationError(f"invalid interpolation format: {whole!r}")
    arg = rest[len(op) :]
    value = lookup(name)
    if op == ":-":
        return value if value else interpolate(arg, lookup, unset)
    if op == "-":
        return value if value is not None else interpolate(arg, lookup, unset)
    if op == ":+":
        return interpolate(arg, lookup, unset) if value else ""
    if op == "+":
        return interpolate(arg, lookup, unset) if value is not None else ""
    if (op == ":?" and not value) or (op == "?" and value is None):
        message = interpolate(arg, lookup)
        raise InterpolationError(f"required variable {name} is missing a value: {message}")
    return value or ""


def interpolate_tree(
    data: Any, lookup: Lookup, locations: Locations, path: KeyPath = (),
    unset: set[str] | None = None,
) -> tuple[Any, list[Problem]]:
    """Interpolate every string value (not keys) in a YAML tree; collect all problems (and in
    `unset`, the names referenced without a default that have no value)."""
    problems: list[Problem] = []

    def walk(value: Any, p: KeyPath) -> Any:
        if isinstance(value, str):
            cast = None
            try:
                text = interpolate(value, lookup, unset)
                cast = caster(p)
                return cast(text) if cast else text
            except InterpolationError as exc:
                loc = locations.find(p)
                message = str(exc) if not cast else f"failed to cast to expected type: {exc}"
                problems.append(
                    Problem(message, loc.file if loc else None, loc.line if loc else None,
                            format_key(p) or None)
                )
                return value
        if isinstance(value, dict):
            return {k: walk(v, (*p, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*p, i)) for i, v in enumerate(value)]
        if isinstance(value, Override):
            return Override(walk(value.value, p))
        if isinstance(value, Reset):
            return value
        return value

    return walk(data, path), problems
