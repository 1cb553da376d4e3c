"""`pycompose [global flags] up [flags] [SERVICE...]` without Typer.

Importing Typer (and click) and building the command costs ~40 ms before `up` does anything,
and `up -d` is the command run most. As for `run` and `down` (compose.cli.fast_run,
compose.cli.fast_down), the usual spellings are read here by a table of the options the Typer
command declares (tests/unit/test_fast_up.py keeps them in step), options before, between or
after the services as click allows; anything else — `--help`, an unknown or combined flag,
`--`, a timeout that is not a number — is left to the Typer app, so usage errors look as before.

Once argv names `up`, the supervisor fork server is started (as `prewarm_for` does on the Typer
path) before the dataclass cache and the rest load, so its start-up overlaps with the CLI's own.
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
    from typing import Any

    from compose.cli.context import GlobalOptions
    from compose.cli.startup import UpRequest

UP_OPTIONS = OptionTable(
    values={
        "--scale": "scale",
        "--wait-timeout": "wait_timeout",
        "--exit-code-from": "exit_code_from",
        "--attach": "attach",
        "--no-attach": "no_attach",
        "-t": "timeout",
        "--timeout": "timeout",
        "--pull": "pull",
    },
    flags={
        "-d": "detach",
        "--detach": "detach",
        "--force-recreate": "force_recreate",
        "--no-recreate": "no_recreate",
        "--no-start": "no_start",
        "--no-deps": "no_deps",
        "--remove-orphans": "remove_orphans",
        "--wait": "wait",
        "--abort-on-container-exit": "abort_on_container_exit",
        "--abort-on-container-failure": "abort_on_container_failure",
        "--attach-dependencies": "attach_dependencies",
        "--timestamps": "timestamps",
        "--no-log-prefix": "no_log_prefix",
        "--no-color": "no_color",
        "--build": "build",
        "--no-build": "no_build",
        "--quiet-pull": "quiet_pull",
        "-V": "renew_anon_volumes",
        "--renew-anon-volumes": "renew_anon_volumes",
        "--always-recreate-deps": "always_recreate_deps",
        "-w": "watch",
        "--watch": "watch",
        "--quiet-build": "quiet_build",
        "-y": "yes",
        "--yes": "yes",
        "--menu": "menu",
    },
    multiple=frozenset({"scale", "attach", "no_attach"}),
)
FLOAT_FIELDS = ("timeout", "wait_timeout")


def _up_arguments(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """`up`'s options and services: click reads options between and after the services too,
    each multiple option collecting over all of argv and the others keeping their last value."""
    wanted: dict[str, Any] = {}  # lists for `multiple` fields
    services: list[str] = []
    while args:
        found: dict[str, Any] = _options(args, UP_OPTIONS)
        for key, value in found.items():
            if key in UP_OPTIONS.multiple:
                wanted[key] = [*wanted.get(key, []), *value]
            else:
                wanted[key] = value
        if args:
            services.append(args.pop(0))
    return wanted, services


def parse(argv: Sequence[str]) -> tuple[GlobalOptions, UpRequest] | None:
    """The global options and up request argv means, or None to let Typer parse it."""
    command = command_args(argv, "up")
    if command is None:
        return None
    given, args = command
    try:
        wanted, services = _up_arguments(args)
    except _Decline:
        return None
    flags = global_flags(given)
    if flags is None:
        return None
    if not as_floats(wanted, FLOAT_FIELDS):
        return None
    for key in UP_OPTIONS.multiple:
        if key in wanted:
            wanted[key] = tuple(wanted[key])
    from compose.cli.startup import UpRequest

    return flags, UpRequest(services=tuple(services), **wanted)


def fast_up(argv: Sequence[str]) -> int | None:
    """Run `up` when the fast path can read argv; None: hand argv to the Typer app."""

    def prewarm() -> None:  # before anything heavy loads; a declined argv keeps it running
        from compose.cli.app import prewarm_for

        prewarm_for(list(argv))

    return run_fast_command(argv, "up", parse, _execute, prewarm)


def _execute(flags: GlobalOptions, request: UpRequest) -> int:
    from compose.cli import startup

    return startup.execute(flags, request)
