"""`pycompose [global flags] ps [flags]` without Typer.

Importing Typer (and click) and building the app cost ~40 ms before `ps` does anything: most
of a `ps`, which test suites and scripts call in loops to watch a stack. As for `down`
(compose.cli.fast_down), the usual spellings are read here by a table of the options the Typer
command declares (tests/unit/test_fast_ps.py keeps them in step), options before, between or
after the services; anything else — `--help`, an unknown or combined flag, a Go template, a
bad filter — is left to the Typer app, so its output and usage errors stay as they are.
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
    from compose.cli.ps_listing import PsRequest

PS_OPTIONS = OptionTable(
    values={"--format": "format", "--status": "status", "--filter": "filters"},
    flags={
        "-a": "all", "--all": "all", "-q": "quiet", "--quiet": "quiet",
        "--services": "services_only", "--no-trunc": "no_trunc",
        "--orphans": "orphans", "--no-orphans": "no_orphans",
    },
    multiple=frozenset({"status", "filters"}),
)


def parse(argv: Sequence[str]) -> tuple[GlobalOptions, PsRequest] | None:
    """The global options and ps request argv means, or None to let Typer parse it."""
    from compose.cli.ps_listing import PsRequest

    command = command_args(argv, "ps")
    if command is None:
        return None
    given, args = command
    wanted: dict[str, object] = {}
    services: list[str] = []
    try:
        while args:
            for key, value in _options(args, PS_OPTIONS).items():
                if key in PS_OPTIONS.multiple:  # click collects every occurrence
                    wanted[key] = (*wanted.get(key, ()), *value)  # type: ignore[misc]
                elif key in ("orphans", "no_orphans"):  # click's last spelling wins
                    wanted["orphans"] = key == "orphans"
                else:
                    wanted[key] = value
            if args:
                services.append(args.pop(0))
    except _Decline:
        return None
    flags = global_flags(given)
    if flags is None or wanted.get("format", "table") not in ("table", "json"):
        return None  # templates (and their usage errors) are the Typer command's
    if flags.dry_run:  # a read: the real engine answers it, as the Typer callback decides
        import dataclasses

        flags = dataclasses.replace(flags, dry_run=False)
    return flags, PsRequest(services=tuple(services), **wanted)  # type: ignore[arg-type]


def fast_ps(argv: Sequence[str]) -> int | None:
    """Run `ps` when the fast path can read argv; None: hand argv to the Typer app."""
    return run_fast_command(argv, "ps", parse, _execute)


def _execute(flags: GlobalOptions, request: PsRequest) -> int:
    from compose.cli import ps_listing

    return ps_listing.execute(flags, request)
