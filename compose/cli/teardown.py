"""`down` as a plain function of the global flags and its own options, without Typer: the
Typer command (compose.cli.lifecycle_cmds) and the fast path (compose.cli.fast_down) both
call `execute`, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from compose.cli.context import GlobalOptions
from compose.cli.interrupts import sigterm_as_ctrl_c
from compose.errors import ComposeError


@dataclass(frozen=True)
class DownRequest:
    """`down`'s own flags as given (--rmi not yet checked): the one input the Typer command and
    the fast path both hand to `execute`."""

    volumes: bool = False
    remove_orphans: bool = False
    rmi: str | None = None
    timeout: float | None = None
    services: tuple[str, ...] = ()


@sigterm_as_ctrl_c()
def execute(flags: GlobalOptions, request: DownRequest) -> int:
    """Stop and remove the project's containers and networks (volumes with -v); SIGTERM stops
    it as Ctrl-C does (exit 130)."""
    from compose.cli.session import engine_for, load_with, open_progress
    from compose.orchestrator import DownOptions, Orchestrator
    from compose.scheduler import parallel_limit

    if request.rmi not in (None, "local", "all"):
        raise ComposeError(f"invalid --rmi value {request.rmi!r}: use local or all")
    project = load_with(flags, allow_missing_file=True)
    view = open_progress(flags)
    try:
        Orchestrator(engine_for(flags), project, view).down(
            DownOptions(
                volumes=request.volumes,
                remove_orphans=request.remove_orphans,
                timeout=request.timeout,
                rmi=request.rmi,
                parallel=parallel_limit(flags.parallel),
                services=request.services,
            )
        )
    finally:
        view.close()
    return 0
