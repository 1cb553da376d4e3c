"""`container inspect`: a container as `docker inspect` shows it (State.OOMKilled and Health,
Config.Tty and OpenStdin, HostConfig limits, Mounts), by name or id, for any project."""

from __future__ import annotations

import typer

from compose.cli.inspect_format import FORMAT_HELP, print_documents

container_app = typer.Typer(help="Inspect containers", no_args_is_help=True)


@container_app.command("inspect")
def inspect(
    names: list[str] = typer.Argument(..., help="Container names or ids"),
    fmt: str = typer.Option(None, "-f", "--format", help=FORMAT_HELP),
) -> None:
    """Show containers as Docker-shaped JSON."""
    from engine.api import Engine

    engine = Engine()
    print_documents([engine.inspect_document(name) for name in names], fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(container_app, name="container")
