"""`up`, `down`, `start`, `stop`: the commands that change what runs."""

from __future__ import annotations

import signal
import sys

import typer

from compose.cli.log_printer import print_logs
from compose.cli.names import log_prefix
from compose.cli.session import orchestrator
from compose.orchestrator import DownOptions, Orchestrator, UpOptions
from engine.api import ContainerStatus


def _attach(orch: Orchestrator, services: tuple[str, ...], timeout: float | None) -> int:
    """Follow the logs until every container exits; Ctrl-C stops the stack like compose."""
    infos = orch.containers(services)
    streams = {log_prefix(c): orch.engine.logs(c.id, follow=True) for c in infos}
    print("Attaching to " + ", ".join(streams), file=sys.stderr)
    try:
        print_logs(streams)
    except KeyboardInterrupt:
        print("Gracefully stopping... (press Ctrl+C again to force)", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        orch.stop(services, timeout)
        return 130
    final = [orch.engine.inspect(c.id) for c in infos]
    for info in final:
        if info.status is ContainerStatus.EXITED:
            print(f"{log_prefix(info)} exited with code {info.state.exit_code}", file=sys.stderr)
    return 0


def up(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services to start"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Run containers in the background"),
    force_recreate: bool = typer.Option(False, "--force-recreate"),
    no_recreate: bool = typer.Option(False, "--no-recreate"),
    no_start: bool = typer.Option(False, "--no-start"),
    remove_orphans: bool = typer.Option(False, "--remove-orphans"),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
) -> None:
    """Create and start containers."""
    orch = orchestrator(ctx)
    chosen = tuple(services or ())
    orch.up(
        UpOptions(
            services=chosen,
            force_recreate=force_recreate,
            no_recreate=no_recreate,
            no_start=no_start,
            remove_orphans=remove_orphans,
            timeout=timeout,
        )
    )
    if detach or no_start:
        return
    raise typer.Exit(_attach(orch, chosen, timeout))


def down(
    ctx: typer.Context,
    volumes: bool = typer.Option(False, "-v", "--volumes", help="Remove named volumes"),
    remove_orphans: bool = typer.Option(False, "--remove-orphans"),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
) -> None:
    """Stop and remove containers, networks (and with -v, volumes)."""
    orchestrator(ctx, allow_missing_file=True).down(
        DownOptions(volumes=volumes, remove_orphans=remove_orphans, timeout=timeout)
    )


def stop(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
) -> None:
    """Stop services."""
    orchestrator(ctx, allow_missing_file=True).stop(tuple(services or ()), timeout)


def start(ctx: typer.Context, services: list[str] = typer.Argument(None)) -> None:
    """Start existing containers."""
    orchestrator(ctx).start(tuple(services or ()))


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(stop)
    app.command()(start)
