"""`volume ls|inspect|rm|prune`: named volumes on this host, like `docker volume`; and
`volumes`: the project's volumes, like `docker compose volumes`. Both list through one
formatter (docker's volume table, JSON lines or a Go template), as docker's CLI does."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from compose import labels as L

if TYPE_CHECKING:
    from compose.orchestrator import Orchestrator
    from engine.api import Engine, Volume

# docker's volume table: its tabwriter pads every column to at least 10 characters.
TABLE_HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME"}
_MIN_WIDTH = 10
_PADDING = 3

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


def list_row(volume: Volume) -> dict[str, object]:
    """A volume as `docker volume ls --format json` shows it (its fields for templates too);
    what a local volume has no value for is "N/A", as in docker."""
    return {
        "Availability": "N/A",
        "Driver": volume.driver,
        "Group": "N/A",
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(volume.labels.items())),
        "Links": "N/A",
        "Mountpoint": str(volume.mountpoint),
        "Name": volume.name,
        "Scope": "local",
        "Size": "N/A",
        "Status": "N/A",
    }


def _table(rows: list[dict[str, object]]) -> str:
    cells = [list(TABLE_HEADERS.values())] + [[str(r[k]) for k in TABLE_HEADERS] for r in rows]
    width = max(_MIN_WIDTH, max(len(c[0]) for c in cells) + _PADDING)
    return "\n".join(f"{driver:<{width}}{name}" for driver, name in cells)


def render_volumes(volumes: Sequence[Volume], fmt: str, quiet: bool) -> str:
    """What `volume ls` and `volumes` print: names (-q), docker's table, one JSON object per
    line, or a Go template (`{{.Name}}`, `table {{.Name}}\t{{.Mountpoint}}`)."""
    if quiet:
        return "\n".join(v.name for v in volumes)
    rows = [list_row(v) for v in volumes]
    if fmt == "table":
        return _table(rows)
    if fmt == "json":
        return "\n".join(json.dumps(r, separators=(",", ":")) for r in rows)
    if "{{" in fmt:
        from compose.cli.ps_cmd import render_template

        return render_template(fmt, rows, TABLE_HEADERS)
    raise typer.BadParameter(
        f"unsupported format {fmt!r} (table, json, or a Go template)", param_hint="--format"
    )


def _print(text: str) -> None:
    if text:
        print(text)


@volume_app.command("ls")
def ls(
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display volume names"),
    fmt: str = typer.Option(
        "table", "--format", help="table, json, or a Go template such as '{{.Name}}'"
    ),
) -> None:
    """List volumes."""
    _print(render_volumes(_engine().volumes.list(), fmt, quiet))


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


def project_volumes(orch: Orchestrator, services: tuple[str, ...] = ()) -> list[Volume]:
    """The volumes labelled with the project; with services, only those their running
    containers (one-off ones included) mount, as docker compose lists them."""
    from engine.api import MountKind

    volumes = [
        v for v in orch.engine.volumes.list() if v.labels.get(L.PROJECT) == orch.project.name
    ]
    if not services:
        return volumes
    mounted = {
        mount.source
        for info in orch.containers(services, include_oneoff=True)
        if info.status.active  # what docker lists without --all: running, paused, restarting
        for mount in info.record.spec.mounts
        if mount.kind is MountKind.VOLUME
    }
    return [v for v in volumes if v.name in mounted]


def volumes(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services whose volumes to list"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display volume names"),
    fmt: str = typer.Option(
        "table", "--format", help="table, json, or a Go template such as '{{.Name}}'"
    ),
) -> None:
    """List volumes."""
    from compose.cli.session import orchestrator

    if not quiet:
        render_volumes([], fmt, quiet)  # a bad --format fails before the project loads
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    _print(render_volumes(project_volumes(orch, chosen), fmt, quiet))


def register(app: typer.Typer) -> None:
    app.add_typer(volume_app, name="volume")
    app.command()(volumes)
