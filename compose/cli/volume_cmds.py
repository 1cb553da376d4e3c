"""`volume ls|inspect|rm|prune`: named volumes on this host, like `docker volume`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from compose import labels as L
from compose.cli.inspect_format import FORMAT_HELP, print_documents
from compose.errors import ComposeError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from compose.orchestrator import Orchestrator
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


VOLUME_HEADERS = {
    "Availability": "AVAILABILITY", "Driver": "DRIVER", "Group": "GROUP", "Labels": "LABELS",
    "Links": "LINKS", "Mountpoint": "MOUNTPOINT", "Name": "VOLUME NAME", "Scope": "SCOPE",
    "Size": "SIZE", "Status": "STATUS",
}
VOLUME_TABLE = "table {{.Driver}}\t{{.Name}}"


def ls_row(volume: Volume) -> dict[str, object]:
    """docker's VolumeContext as `{{json .}}` prints it (keys sorted; N/A for cluster bits)."""
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


def _volume_filter(items: list[str], in_use: set[str]) -> Callable[[Volume], bool]:
    """`--filter` of `docker volume ls`: dangling, driver, label (key or key=value), name."""
    import re

    wanted: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ComposeError("bad format of filter (expected name=value)")
        if key not in ("dangling", "driver", "label", "name"):
            raise ComposeError(f"invalid filter '{key}'")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise ComposeError(f"invalid filter 'dangling={value}'")
        wanted.setdefault(key, []).append(value)

    def search(pattern: str, text: str) -> bool:
        try:
            return re.search(pattern, text) is not None
        except re.error:
            return False

    def label(spec: str, labels: dict[str, str]) -> bool:
        key, sep, value = spec.partition("=")
        return key in labels and (not sep or labels[key] == value)

    def matches(key: str, value: str, volume: Volume) -> bool:
        if key == "dangling":
            return (volume.name not in in_use) == (value.lower() in ("true", "1"))
        if key == "driver":
            return value == volume.driver
        return search(value, volume.name)

    def keep(volume: Volume) -> bool:  # every label given; any value of the other keys
        return all(
            all(label(v, volume.labels) for v in values) if key == "label"
            else any(matches(key, v, volume) for v in values)
            for key, values in wanted.items()
        )

    return keep


@volume_app.command("ls")
def ls(
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display volume names"),
    fmt: str = typer.Option(
        "table", "--format", help="table, json, or a Go template such as '{{.Name}}'"
    ),
    filters: list[str] = typer.Option(
        None, "-f", "--filter",
        help="Filter output: dangling=true|false, driver=X, label=KEY[=VALUE], name=X",
    ),
) -> None:
    """List volumes."""
    engine = _engine()
    keep = _volume_filter(filters or [], _in_use(engine) if filters else set())
    _print(render_volumes([v for v in engine.volumes.list() if keep(v)], fmt, quiet))


def render_volumes(volumes: Sequence[Volume], fmt: str, quiet: bool) -> str:
    """What `volume ls` and `volumes` print: names (-q), docker's table, one JSON object per
    line, or a Go template (`{{.Name}}`, `table {{.Name}}\t{{.Mountpoint}}`)."""
    from compose.cli.ps_cmd import render_template

    if quiet:
        return "\n".join(v.name for v in volumes)
    template = {"table": VOLUME_TABLE, "": VOLUME_TABLE, "json": "{{json .}}"}.get(fmt, fmt)
    labels = {v.name: v.labels for v in volumes}
    methods: dict[str, Callable[..., object]] = {
        "Label": lambda row, key="": labels.get(str(row.get("Name")), {}).get(key, "")
    }
    return render_template(template, [ls_row(v) for v in volumes], VOLUME_HEADERS, methods)


def _print(text: str) -> None:
    if text:
        print(text)


@volume_app.command("inspect")
def inspect(
    names: list[str] = typer.Argument(..., help="Volume names"),
    fmt: str = typer.Option(None, "-f", "--format", help=FORMAT_HELP),
) -> None:
    """Show volumes as Docker-shaped JSON."""
    engine = _engine()
    print_documents([_document(engine.volumes.get(n)) for n in names], fmt)


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
