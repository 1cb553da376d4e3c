"""`pycompose [global flags] down [flags]` without Typer.

Importing Typer (and click) and building the command costs ~40 ms before `down` does anything,
a tenth of a 50-service `down`. As for `run` (compose.cli.fast_run), the usual spellings are
read here by a table of the options the Typer command declares (tests/unit/test_fast_down.py
keeps them in step), options before, between or after the services as click allows; anything
else — `--help`, an unknown or combined flag, `--`, a `--timeout` that is not a number — is
left to the Typer app, so usage errors look as before.
"""

from __future__ import annotations

from compose.cli.fast_run import (
    OptionTable,
    _Decline,
    _options,
    as_floats,
    command_args,
    global_flags,
    run_fast_command,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from compose.cli.context import GlobalOptions
    from compose.cli.teardown import DownRequest

DOWN_OPTIONS = OptionTable(
    values={"--rmi": "rmi", "-t": "timeout", "--timeout": "timeout"},
    flags={"-v": "volumes", "--volumes": "volumes", "--remove-orphans": "remove_orphans"},
)


def parse(argv: Sequence[str]) -> tuple[GlobalOptions, DownRequest] | None:
    """The global options and down request argv means, or None to let Typer parse it."""
    from compose.cli.teardown import DownRequest

    command = command_args(argv, "down")
    if command is None:
        return None
    given, args = command
    try:
        wanted: dict[str, object] = {}
        services: list[str] = []
        while args:
            wanted.update(_options(args, DOWN_OPTIONS))  # none is `multiple`: the last wins
            if args:
                services.append(args.pop(0))
    except _Decline:
        return None
    flags = global_flags(given)
    if flags is None:
        return None
    if not as_floats(wanted, ("timeout",)):
        return None
    return flags, DownRequest(services=tuple(services), **wanted)  # type: ignore[arg-type]


def fast_down(argv: Sequence[str]) -> int | None:
    """Run `down` when the fast path can read argv; None: hand argv to the Typer app."""
    return run_fast_command(argv, "down", parse, _execute)


def _execute(flags: GlobalOptions, request: DownRequest) -> int:
    from compose.cli import teardown

    return teardown.execute(flags, request)
