"""`container inspect`: a container as `docker inspect` shows it (State.OOMKilled and Health,
Config.Tty and OpenStdin, HostConfig limits, Mounts), by name or id, for any project."""

from __future__ import annotations

import json

import typer

container_app = typer.Typer(help="Inspect containers", no_args_is_help=True)


@container_app.command("inspect")
def inspect(names: list[str] = typer.Argument(..., help="Container names or ids")) -> None:
    """Show containers as Docker-shaped JSON."""
    from engine.api import Engine

    engine = Engine()
    print(json.dumps([engine.inspect_document(name) for name in names], indent=4))


def register(app: typer.Typer) -> None:
    app.add_typer(container_app, name="container")
