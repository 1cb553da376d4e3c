"""`commit`: a new image from a service container's changes (`docker compose commit`)."""

from __future__ import annotations

import typer

from compose.cli.session import orchestrator
from compose.errors import ComposeError


def commit(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="Service name"),
    reference: str = typer.Argument(None, metavar="[REPOSITORY[:TAG]]", help="New image name"),
    author: str = typer.Option(
        "", "-a", "--author", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'
    ),
    change: list[str] = typer.Option(
        None, "-c", "--change", help="Apply Dockerfile instruction to the created image"
    ),
    index: int = typer.Option(
        0, "--index", help="index of the container if service has multiple replicas."
    ),
    message: str = typer.Option("", "-m", "--message", help="Commit message"),
    pause: bool = typer.Option(
        True, "--pause/--no-pause", "-p", help="Pause container during commit"
    ),
) -> None:
    """Create a new image from a service container's changes."""
    from compose.cli.service_container import running_container
    from compose.events import Event, Phase, ResourceKind
    from engine.api import CommitRequest, EngineError

    request = CommitRequest(
        reference=reference, author=author, comment=message, changes=tuple(change or ()),
        pause=pause,
    )
    request.validate()  # bad input is an error before the project loads, with no progress
    orch = orchestrator(ctx, allow_missing_file=True, title="Running")
    info = running_container(orch, service, index)
    orch.report(Event(ResourceKind.CONTAINER, info.name, Phase.COMMITTING))
    try:
        image = orch.engine.commit_image(info.id, request)
    except EngineError as exc:
        orch.report(Event(ResourceKind.CONTAINER, info.name, Phase.ERROR))
        raise ComposeError(f"service {service}: {exc}", hint=exc.hint) from exc
    orch.report(Event(ResourceKind.CONTAINER, info.name, Phase.COMMITTED, f"as {image.id}"))


def register(app: typer.Typer) -> None:
    app.command()(commit)
