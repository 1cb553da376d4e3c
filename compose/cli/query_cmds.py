"""`ps` and `logs`: commands that only look."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

import typer

from compose import labels as L
from compose.cli.log_printer import print_logs
from compose.cli.names import log_prefix
from compose.cli.session import orchestrator
from compose.cli.states import RUNNING, is_exited
from compose.human_size import human_size
from compose.human_time import since

if TYPE_CHECKING:
    from engine.api import ContainerInfo


def _status(info: ContainerInfo) -> str:
    state = info.state
    if state.status.value == RUNNING:
        health = getattr(state, "health_status", None)
        paused = " (Paused)" if getattr(state, "paused", False) else ""
        return f"Up {since(state.started_at)}" + (f" ({health})" if health else paused)
    if is_exited(state.status):
        return f"Exited ({state.exit_code}) {since(state.finished_at)} ago"
    return state.status.value.capitalize()


def _command(info: ContainerInfo) -> str:
    spec = info.record.spec
    parts = [*(spec.entrypoint or ()), *(spec.command or ())]
    text = shlex.join(parts)
    return json.dumps(text[:20] + "…" if len(text) > 20 else text, ensure_ascii=False)


def _row(info: ContainerInfo) -> dict[str, object]:
    spec = info.record.spec
    return {
        "Command": _command(info),
        "CreatedAt": info.record.created,
        "ExitCode": info.state.exit_code or 0,
        "Health": getattr(info.state, "health_status", None) or "",
        "ID": info.id[:12],
        "Image": spec.image,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(spec.labels.items())),
        "Name": info.name,
        "Names": info.name,
        "Networks": ",".join(sorted(info.state.addresses) or [n.network for n in spec.networks]),
        "Ports": ", ".join(p.docker_text() for p in info.state.ports),
        "Project": spec.labels.get(L.PROJECT, ""),
        "Publishers": [
            {"URL": p.host_ip, "TargetPort": p.target, "PublishedPort": p.host_port,
             "Protocol": p.protocol}
            for p in info.state.ports
        ],
        "RunningFor": f"{since(info.record.created)} ago",
        "Service": spec.labels.get(L.SERVICE, ""),
        "State": info.state.status.value,
        "Status": _status(info),
    }


def _table(rows: list[dict[str, object]]) -> str:
    columns = [
        ("NAME", "Name"),
        ("IMAGE", "Image"),
        ("COMMAND", "Command"),
        ("SERVICE", "Service"),
        ("CREATED", "RunningFor"),
        ("STATUS", "Status"),
        ("PORTS", "Ports"),
    ]
    cells = [[h for h, _ in columns]] + [[str(r[k]) for _, k in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells
    )


STATES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def _status_filters(filters: list[str]) -> list[str]:
    wanted = []
    for item in filters:
        key, sep, value = item.partition("=")
        if key != "status" or not sep:
            raise typer.BadParameter(
                f"invalid filter {item!r}: only status=STATE is supported", param_hint="--filter"
            )
        wanted.append(value)
    for value in wanted:
        if value not in STATES:
            raise typer.BadParameter(
                f"invalid status {value!r} (use one of {', '.join(STATES)})",
                param_hint="--filter",
            )
    return wanted


def _state_word(info: ContainerInfo) -> str:
    if getattr(info.state, "paused", False):
        return "paused"
    return info.state.status.value


def ps(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    all_: bool = typer.Option(False, "-a", "--all", help="Show all stopped containers too"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display IDs"),
    show_services: bool = typer.Option(False, "--services", help="Display services"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
    status: list[str] = typer.Option(None, "--status", help="Filter by status"),
    filters: list[str] = typer.Option(None, "--filter", help="Filter by a property (status=…)"),
) -> None:
    """List containers."""
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    infos = orch.containers(chosen)
    status = list(status or ()) + _status_filters(filters or [])
    if status:
        infos = [c for c in infos if _state_word(c) in status]
    elif not all_:
        infos = [c for c in infos if c.state.status.value == RUNNING]
    if quiet:
        for info in infos:
            print(info.id)
        return
    if show_services:
        for name in sorted({c.labels.get(L.SERVICE, "") for c in infos}):
            print(name)
        return
    rows = [_row(c) for c in infos]
    if fmt == "json":
        for row in rows:
            print(json.dumps(row))
        return
    if fmt != "table":
        raise typer.BadParameter(f"unsupported format {fmt!r} (table, json)", param_hint="--format")
    print(_table(rows))


def logs(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    follow: bool = typer.Option(False, "-f", "--follow", help="Follow log output"),
    tail: str = typer.Option("all", "-n", "--tail", help="Lines from the end of each log"),
    timestamps: bool = typer.Option(False, "-t", "--timestamps"),
    no_prefix: bool = typer.Option(False, "--no-log-prefix"),
    no_color: bool = typer.Option(False, "--no-color"),
) -> None:
    """View output from containers."""
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    count = None if tail == "all" else int(tail)
    infos = orch.containers(chosen)
    streams = {log_prefix(c): orch.engine.logs(c.id, follow=follow, tail=count) for c in infos}
    print_logs(
        streams, prefix=not no_prefix, color=False if no_color else None, timestamps=timestamps
    )


def images(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display IDs"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """List images used by the created containers."""
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    rows = []
    for info in orch.containers(chosen):
        image = orch.engine.images.find(info.record.image_id)
        reference = info.record.spec.image
        repo, _, tag = reference.rpartition(":") if ":" in reference else (reference, "", "latest")
        size = getattr(image, "size", 0) if image else 0
        rows.append(
            {
                "ContainerName": info.name,
                "Repository": repo,
                "Tag": tag,
                "ID": info.record.image_id,
                "Size": size,
            }
        )
    if quiet:
        for image_id in dict.fromkeys(r["ID"] for r in rows):
            print(str(image_id).removeprefix("sha256:")[:12])
        return
    if fmt == "json":
        print(json.dumps(rows))
        return
    if fmt != "table":
        raise typer.BadParameter(f"unsupported format {fmt!r} (table, json)", param_hint="--format")
    cells = [["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"]] + [
        [
            str(r["ContainerName"]),
            str(r["Repository"]),
            str(r["Tag"]),
            str(r["ID"]).removeprefix("sha256:")[:12],
            human_size(int(str(r["Size"]))),
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(5)]
    for row in cells:
        print("   ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())


def register(app: typer.Typer) -> None:
    app.command()(ps)
    app.command()(logs)
    app.command()(images)
