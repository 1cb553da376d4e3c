"""Docker's spelling of boolean flags: its CLI (Go's pflag) takes `--flag=VALUE` on every
boolean flag (`attach --sig-proxy=false`, `commit --pause=false`, `run --rm=true`, `-d=1`),
click takes no value on a flag. Rewritten here to click's spellings, in one place for every
command: the root group reads argv through `go_bool_flags` before parsing it.

`--x=false` becomes the flag's negative spelling (`--no-x` of a `--x/--no-x` option) or, for a
plain flag (off unless given), nothing; `--x=true` becomes `--x`; a negative spelling with a
value turns around (`--no-x=false` is `--x`). Only options are read: what follows `--`, an
option's value, and a command's words once it takes no more options (`run SERVICE CMD…`) pass
unchanged. The fast parsers (compose.cli.fast_run) leave `--flag=VALUE` to this path."""

from __future__ import annotations

from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

# strconv.ParseBool's spellings
GO_TRUE = frozenset(("1", "t", "T", "TRUE", "true", "True"))
GO_FALSE = frozenset(("0", "f", "F", "FALSE", "false", "False"))


class BoolFlagValueError(ComposeError):
    """`--flag=VALUE` whose value Go's ParseBool refuses (docker's words)."""


def _go_bool(value: str, flag: str) -> bool:
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    raise BoolFlagValueError(
        f'invalid argument "{value}" for "{flag}" flag: strconv.ParseBool: parsing'
        f' "{value}": invalid syntax'
    )


def _options_by_spelling(command: Any) -> dict[str, Any]:
    return {
        spelling: param
        for param in getattr(command, "params", ())
        if getattr(param, "param_type_name", "") == "option"
        for spelling in (*param.opts, *param.secondary_opts)
    }


def _click_spelling(option: Any, name: str, value: str) -> list[str]:
    """`name=value` of a boolean flag as click's tokens."""
    negative = name in option.secondary_opts
    on = _go_bool(value, name) != negative  # `--no-x=false` turns `x` on
    if on:
        return [_long(option.opts) if negative else name]
    if negative:
        return [name]
    return [option.secondary_opts[0]] if option.secondary_opts else []  # a plain flag: left out


def _long(spellings: list[str]) -> str:
    return next((s for s in spellings if s.startswith("--")), spellings[0])


def _takes_more_options(command: Any) -> bool:
    settings = getattr(command, "context_settings", None) or {}
    return bool(settings.get("allow_interspersed_args", command.allow_interspersed_args))


def go_bool_flags(command: Any, args: list[str]) -> list[str]:
    """`args` for `command` (a click command or group) with docker's boolean spellings in
    click's, down through the subcommand they name."""
    options = _options_by_spelling(command)
    out: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":
            return [*out, token, *args[index:]]
        if not token.startswith("-") or token == "-":
            subcommands = getattr(command, "commands", None)
            if subcommands is not None:  # a group: the rest is the subcommand's
                sub = subcommands.get(token)
                rest = args[index:] if sub is None else go_bool_flags(sub, args[index:])
                return [*out, token, *rest]
            if not _takes_more_options(command):
                return [*out, token, *args[index:]]
            out.append(token)
            continue
        name, eq, value = token.partition("=")
        option = options.get(name)
        if option is None:
            out.append(token)
        elif option.is_bool_flag and not option.count:
            out.extend(_click_spelling(option, name, value) if eq else [token])
        else:
            out.append(token)
            attached = eq or (not name.startswith("--") and len(token) > 2)
            if not option.is_flag and not option.count and not attached and index < len(args):
                out.append(args[index])  # its value, whatever it looks like
                index += 1
    return out


def group_class() -> type:
    """The root group: argv goes through `go_bool_flags` before click parses it."""
    from typer.core import TyperGroup

    class GoBoolFlagsGroup(TyperGroup):
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            return super().parse_args(ctx, go_bool_flags(self, list(args)))

    return GoBoolFlagsGroup
