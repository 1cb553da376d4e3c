"""`ps` and `logs`: commands that only look."""

from __future__ import annotations

import json
import shlex

import typer

from compose import labels as L
from compose.cli.log_printer import print_logs
from compose.cli.names import log_prefix
from compose.cli.session import orchestrator
from compose.human_time import since
from engine.api import ContainerInfo, ContainerStatus


def _status(info: ContainerInfo) -> str:
    state = info.state
    if state.status is ContainerStatus.RUNNING:
        return f"Up {since(state.started_at)}"
    if state.status is ContainerStatus.EXITED:
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
        "Health": "",
        "ID": info.id[:12],
        "Image": spec.image,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(spec.labels.items())),
        "Name": info.name,
        "Names": info.name,
        "Networks": ",".join(sorted(info.state.addresses) or [n.network for n in spec.networks]),
        "Ports": "",
        "Project": spec.labels.get(L.PROJECT, ""),
        "Publishers": [],
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


def ps(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    all_: bool = typer.Option(False, "-a", "--all", help="Show all stopped containers too"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display IDs"),
    show_services: bool = typer.Option(False, "--services", help="Display services"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
    status: list[str] = typer.Option(None, "--status", help="Filter by status"),
) -> None:
    """List containers."""
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    infos = orch.containers(chosen)
    if status:
        infos = [c for c in infos if c.state.status.value in status]
    elif not all_:
        infos = [c for c in infos if c.state.status is ContainerStatus.RUNNING]
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


def register(app: typer.Typer) -> None:
    app.command()(ps)
    app.command()(logs)
