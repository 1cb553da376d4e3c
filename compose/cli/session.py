"""What most commands need first: the loaded project, the engine, and a progress printer."""

from __future__ import annotations

import sys
from pathlib import Path

from compose.cli.context import GlobalOptions, global_options
from compose.errors import ComposeFileNotFoundError
from compose.events import Event, Phase, Reporter
from compose.model import Project

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:  # heavy (loader, engine, pyroute2; typer): imported when a command runs
    import typer

    from compose.orchestrator import Orchestrator
    from compose.progress import Progress
    from engine.api import Engine


def print_event(event: Event) -> None:
    """Plain progress lines (docker compose's non-TTY output)."""
    if event.phase is Phase.WARNING:
        print(f"WARN[0000] {event.detail}", file=sys.stderr)
        return
    detail = f" {event.detail}" if event.detail else ""
    print(f" {event.kind.value} {event.name}  {event.phase.value}{detail}", file=sys.stderr)


def load(ctx: typer.Context, allow_missing_file: bool = False) -> Project:
    return load_with(global_options(ctx), allow_missing_file)


def load_with(flags: GlobalOptions, allow_missing_file: bool = False) -> Project:
    """The project the global flags name (`load` without a Typer context: the fast `run`),
    from the project cache when nothing it was loaded from changed: the loader's imports are
    ~15 ms of every command's CPU, and it prints nothing a cache hit would leave out."""
    from compose.project_cache import load_cached

    options = flags.load_options()
    try:
        return compatible(flags, warned(load_cached(options)))
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


def compatible(flags: GlobalOptions, project: Project) -> Project:
    """`project` with docker compose's --compatibility naming when the flag, or
    COMPOSE_COMPATIBILITY in the environment or the project's .env, asks for it."""
    from compose.cli.context import string_to_bool

    wanted = flags.compatibility or string_to_bool(project.environment.get("COMPOSE_COMPATIBILITY"))
    if not wanted:
        return project
    import dataclasses

    return dataclasses.replace(project, container_separator="_")


def warned(project: Project) -> Project:
    """`project`, once what loading it warns about is printed, in docker compose's shape."""
    for warning in project.warnings:
        print(f"WARN[0000] {warning}", file=sys.stderr)
    return project


def parallel(ctx: typer.Context) -> int:
    """`--parallel` / COMPOSE_PARALLEL_LIMIT, validated."""
    from compose.scheduler import parallel_limit

    return parallel_limit(global_options(ctx).parallel)


def progress(ctx: typer.Context, title: str = "Running") -> Progress:
    """The progress view chosen by `--progress`; closed when the command ends."""
    view = open_progress(global_options(ctx), title)
    ctx.call_on_close(view.close)
    return view


def open_progress(flags: GlobalOptions, title: str = "Running") -> Progress:
    """The progress view chosen by `--progress`; the caller closes it."""
    from compose.progress import make_progress, progress_mode

    return make_progress(progress_mode(flags.progress), title, dry_run=flags.dry_run)


def engine_for(flags: GlobalOptions) -> Engine:
    """The engine a command works on: with --dry-run, one that reads the real state and makes
    no change (engine.api.dry_run_engine)."""
    from engine.api import Engine, dry_run_engine

    return dry_run_engine(Engine()) if flags.dry_run else Engine()


def deferred_progress(flags: GlobalOptions, title: str = "Running") -> Progress:
    """Like `open_progress`, but the view appears with the first event: a one-off `run` that
    has nothing to create shows no empty `[+] Running 0/0` and never loads rich."""
    from compose.progress import Progress, make_progress, progress_mode

    mode = progress_mode(flags.progress)  # a bad --progress is an error now, not later

    class Deferred(Progress):
        view: Progress | None = None
        closed = False

        def __call__(self, event: Event) -> None:
            if self.view is None:
                if self.closed:  # `run` reports nothing after closing; never start a view then
                    return
                self.view = make_progress(mode, title)
            self.view(event)

        def close(self) -> None:
            self.closed = True
            if self.view is not None:
                self.view.close()

    return Deferred()


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

    project = load(ctx, allow_missing_file)
    report: Reporter = (lambda _e: None) if quiet else progress(ctx, title)
    return Orchestrator(engine_for(global_options(ctx)), project, report)
