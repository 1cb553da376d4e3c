"""What most commands need first: the loaded project, the engine, and a progress printer."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from compose.cli.context import global_options
from compose.errors import ComposeFileNotFoundError
from compose.events import Event, Phase
from compose.loader import load_project
from compose.model import Project
from compose.orchestrator import Orchestrator
from engine.api import Engine


def print_event(event: Event) -> None:
    """Plain progress lines (docker compose's non-TTY output)."""
    if event.phase is Phase.WARNING:
        print(f"WARN[0000] {event.detail}", file=sys.stderr)
        return
    detail = f" {event.detail}" if event.detail else ""
    print(f" {event.kind.value} {event.name}  {event.phase.value}{detail}", file=sys.stderr)


def load(ctx: typer.Context, allow_missing_file: bool = False) -> Project:
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


def orchestrator(
    ctx: typer.Context, allow_missing_file: bool = False, quiet: bool = False
) -> Orchestrator:
    project = load(ctx, allow_missing_file)
    return Orchestrator(Engine(), project, (lambda _e: None) if quiet else print_event)
