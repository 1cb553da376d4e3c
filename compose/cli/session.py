"""What most commands need first: the loaded project, the engine, and a progress printer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from compose.cli.context import global_options
from compose.errors import ComposeFileNotFoundError
from compose.events import Event, Phase, Reporter
from compose.model import Project

if TYPE_CHECKING:  # heavy (loader, engine, pyroute2): imported when a command runs
    from compose.orchestrator import Orchestrator
    from compose.progress import Progress


def print_event(event: Event) -> None:
    """Plain progress lines (docker compose's non-TTY output)."""
    if event.phase is Phase.WARNING:
        print(f"WARN[0000] {event.detail}", file=sys.stderr)
        return
    detail = f" {event.detail}" if event.detail else ""
    print(f" {event.kind.value} {event.name}  {event.phase.value}{detail}", file=sys.stderr)


def load(ctx: typer.Context, allow_missing_file: bool = False) -> Project:
    from compose.loader import load_project

    options = global_options(ctx).load_options()
    try:
        return load_project(options)
    except ComposeFileNotFoundError:
        if not (allow_missing_file and options.project_name):
            raise
        return Project(
            name=options.project_name,
            working_dir=Path.cwd(),
            config_files=(),
            services={},
            networks={},
            volumes={},
        )


def parallel(ctx: typer.Context) -> int:
    """`--parallel` / COMPOSE_PARALLEL_LIMIT, validated."""
    from compose.scheduler import parallel_limit

    return parallel_limit(global_options(ctx).parallel)


def progress(ctx: typer.Context, title: str = "Running") -> Progress:
    """The progress view chosen by `--progress`; closed when the command ends."""
    from compose.progress import make_progress, progress_mode

    view = make_progress(progress_mode(global_options(ctx).progress), title)
    ctx.call_on_close(view.close)
    return view


def close_progress(orch: Orchestrator) -> None:
    """Stop a live view before printing other output (logs, tables)."""
    close = getattr(orch.report, "close", None)
    if close is not None:
        close()


def orchestrator(
    ctx: typer.Context,
    allow_missing_file: bool = False,
    quiet: bool = False,
    title: str = "Running",
) -> Orchestrator:
    from compose.orchestrator import Orchestrator
    from engine.api import Engine

    project = load(ctx, allow_missing_file)
    report: Reporter = (lambda _e: None) if quiet else progress(ctx, title)
    return Orchestrator(Engine(), project, report)
