"""`volume ls|inspect|rm|prune`: named volumes on this host, like `docker volume`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from compose import labels as L

if TYPE_CHECKING:
    from engine.api import Engine, Volume

volume_app = typer.Typer(help="Manage volumes", no_args_is_help=True)


def _engine() -> Engine:
    from engine.api import Engine

    return Engine()


def _document(volume: Volume) -> dict[str, object]:
    return {
        "CreatedAt": volume.created,
        "Driver": volume.driver,
        "Labels": volume.labels,
        "Mountpoint": str(volume.mountpoint),
        "Name": volume.name,
        "Options": volume.options or None,
        "Scope": "local",
    }


def _in_use(engine: Engine) -> set[str]:
    from engine.api import MountKind

    return {
        mount.source
        for info in engine.list_containers()
        for mount in info.record.spec.mounts
        if mount.kind is MountKind.VOLUME and mount.source
    }


@volume_app.command("ls")
def ls(
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display volume names"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """List volumes."""
    volumes = _engine().volumes.list()
    if quiet:
        for volume in volumes:
            print(volume.name)
        return
    if fmt == "json":
        for volume in volumes:
            print(json.dumps(_document(volume), separators=(",", ":")))
        return
    print(f"{'DRIVER':<10}VOLUME NAME")
    for volume in volumes:
        print(f"{volume.driver:<10}{volume.name}")


@volume_app.command("inspect")
def inspect(names: list[str] = typer.Argument(..., help="Volume names")) -> None:
    """Show volumes as Docker-shaped JSON."""
    engine = _engine()
    print(json.dumps([_document(engine.volumes.get(n)) for n in names], indent=4))


@volume_app.command("rm")
def rm(names: list[str] = typer.Argument(..., help="Volume names")) -> None:
    """Remove volumes (refused while a container uses one)."""
    engine = _engine()
    for name in names:
        engine.remove_volume(name)
        print(name)


@volume_app.command("prune")
def prune(
    all_: bool = typer.Option(False, "-a", "--all", help="Named volumes too, not only anonymous"),
    force: bool = typer.Option(False, "-f", "--force", help="Do not prompt for confirmation"),
) -> None:
    """Remove unused volumes: anonymous ones, or with -a every unused one. Data in a volume is
    only ever deleted by an explicit command like this one."""
    engine = _engine()
    used = _in_use(engine)
    victims = [
        v
        for v in engine.volumes.list()
        if v.name not in used and (all_ or L.VOLUME not in v.labels)
    ]
    if (
        victims
        and not force
        and not typer.confirm(
            f"This will remove {len(victims)} unused volume(s). Are you sure you want to continue?"
        )
    ):
        raise typer.Exit(1)
    for volume in victims:
        engine.remove_volume(volume.name)
        print(volume.name)
    print(f"Total reclaimed volumes: {len(victims)}")


def register(app: typer.Typer) -> None:
    app.add_typer(volume_app, name="volume")
