"""`pycompose [global flags] exec [flags] SERVICE COMMAND...` without Typer.

A test suite's probes and scripts run `exec` in loops; importing Typer (and click) and building
the app cost each ~40 ms before the command runs. As for `ps` (compose.cli.fast_ps), the usual
spellings are read here by a table of the options the Typer command declares
(tests/unit/test_fast_exec.py keeps them in step). Options come before the service only (the
Typer command does not intersperse them: what follows the service is the command, its options
included); combined boolean short flags (`-it`, `-iT`) are split as click splits them. Anything
else — `--help`, an unknown flag, `--`, an `--index` that is not a number — is left to Typer.
"""

from __future__ import annotations

from compose.cli.fast_run import (
    OptionTable,
    _Decline,
    _options,
    command_args,
    global_flags,
    run_fast_command,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from compose.cli.context import GlobalOptions
    from compose.cli.service_exec import ExecRequest

EXEC_OPTIONS = OptionTable(
    values={
        "-e": "env", "--env": "env", "-w": "workdir", "--workdir": "workdir",
        "-u": "user", "--user": "user", "--index": "index",
    },
    flags={
        "-T": "no_tty", "--no-TTY": "no_tty", "-d": "detach", "--detach": "detach",
        "--privileged": "privileged",
        "-i": "interactive", "--interactive": "interactive", "--no-interactive": "!interactive",
        "-t": "tty", "--tty": "tty", "--no-tty": "!tty",  # on by default; off is -T
    },
    multiple=frozenset({"env"}),
)
_SHORT_FLAGS = frozenset("iTtd")


def _split_short_flags(args: list[str]) -> list[str]:
    """`-it` as `-i -t` (click's reading of combined boolean short flags), up to the service."""
    split: list[str] = []
    rest = iter(args)
    for token in rest:
        if not token.startswith("-"):
            return [*split, token, *rest]
        letters = token[1:]
        if not token.startswith("--") and len(letters) > 1 and set(letters) <= _SHORT_FLAGS:
            split.extend(f"-{letter}" for letter in letters)
            continue
        split.append(token)
        value = next(rest, None) if token in EXEC_OPTIONS.values else None
        if value is not None:  # an option's value follows, whatever it looks like
            split.append(value)
    return split


def parse(argv: Sequence[str]) -> tuple[GlobalOptions, ExecRequest] | None:
    """The global options and exec request argv means, or None to let Typer parse it."""
    from compose.cli.service_exec import ExecRequest

    command = command_args(argv, "exec")
    if command is None:
        return None
    given, args = command
    try:
        args = _split_short_flags(args)
        wanted = _options(args, EXEC_OPTIONS)
    except _Decline:
        return None
    if len(args) < 2 or "--" in args:
        return None  # Typer's "missing argument" messages, and its reading of `--`
    index = str(wanted.pop("index", "1"))
    flags = global_flags(given)
    if flags is None or flags.dry_run or not index.lstrip("-").isdigit():
        return None  # (the Typer app refuses `exec` under --dry-run)
    env = tuple(wanted.pop("env", ()))
    if wanted.pop("tty", True) is False:
        wanted["no_tty"] = True
    return flags, ExecRequest(
        service=args[0], command=tuple(args[1:]), env=env, index=int(index), **wanted
    )


def fast_exec(argv: Sequence[str]) -> int | None:
    """Run `exec` when the fast path can read argv; None: hand argv to the Typer app."""
    return run_fast_command(argv, "exec", parse, _execute)


def _execute(flags: GlobalOptions, request: ExecRequest) -> int:
    from compose.cli import service_exec

    return service_exec.execute(flags, request)
