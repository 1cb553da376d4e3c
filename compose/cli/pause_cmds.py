"""`pause` and `unpause`: freeze and thaw a project's service containers (cgroup freezer)."""

from __future__ import annotations

import sys

import typer

from compose.cli.session import orchestrator
from compose.errors import ComposeError


def _apply(ctx: typer.Context, services: list[str] | None, pause: bool) -> None:
    from engine.api import ContainerStatus, EngineError

    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    # As docker's daemon: pausing a paused one (or unpausing a running one) is an error.
    targets = [c for c in orch.containers(chosen) if c.status is ContainerStatus.RUNNING]
    for info in sorted(targets, key=lambda c: c.name):
        try:
            if pause:
                orch.engine.pause_container(info.id)
            else:
                orch.engine.unpause_container(info.id)
        except EngineError as exc:
            raise ComposeError(str(exc)) from exc
        print(f" Container {info.name}  {'Paused' if pause else 'Unpaused'}", file=sys.stderr)


def pause(ctx: typer.Context, services: list[str] = typer.Argument(None)) -> None:
    """Pause services."""
    _apply(ctx, services, pause=True)


def unpause(ctx: typer.Context, services: list[str] = typer.Argument(None)) -> None:
    """Unpause services."""
    _apply(ctx, services, pause=False)


def register(app: typer.Typer) -> None:
    app.command()(pause)
    app.command()(unpause)
