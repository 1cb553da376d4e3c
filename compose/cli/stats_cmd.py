"""`stats`: the project's containers' resource usage, as `docker compose stats` shows it.

Docker's columns and units: CPU % of one CPU over the last interval (Docker's collector reads
every second, and `--no-stream` waits for a second reading so the rate means something),
memory without inactive page cache against the limit (the host's memory when there is none) in
binary units, network and block I/O in decimal units, the number of pids. A live view repaints
the table every second until Ctrl-C (on a terminal it clears the screen first, as docker does).
`--all` adds stopped containers with zero values; `--format` takes `table`, `json` or the
template subset `ps` takes.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

import typer

from compose.cli.ps_cmd import render_template
from compose.human_size import binary_size, human_size

if TYPE_CHECKING:
    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo, ResourceSample

INTERVAL = 1.0  # seconds between readings, Docker's collection period
TEMPLATE = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
    "{{.BlockIO}}\t{{.PIDs}}"
)
HEADERS = {
    "ID": "CONTAINER ID",
    "Container": "CONTAINER",
    "Name": "NAME",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}
FIELDS = tuple(HEADERS)
CLEAR_SCREEN = "\033[2J\033[H"

Samples = dict[str, "ResourceSample | None"]


def stats_row(
    info: ContainerInfo, before: ResourceSample | None, after: ResourceSample | None,
    no_trunc: bool,
) -> dict[str, object]:
    """One container's fields, named as docker's `--format` names them, in the sorted order
    docker's `{{json .}}` prints them."""
    short = info.id if no_trunc else info.id[:12]
    row: dict[str, object] = {"ID": short, "Container": info.name, "Name": info.name}
    if after is None:  # not running: docker's zero reading
        return dict(sorted((row | {
            "CPUPerc": "0.00%", "MemUsage": "0B / 0B", "MemPerc": "0.00%",
            "NetIO": "0B / 0B", "BlockIO": "0B / 0B", "PIDs": "0",
        }).items()))
    cpu = after.cpu_percent_since(before) if before is not None else 0.0
    return dict(sorted((row | {
        "CPUPerc": f"{cpu:.2f}%",
        "MemUsage": f"{binary_size(after.memory_usage)} / {binary_size(after.memory_limit)}",
        "MemPerc": f"{after.memory_percent():.2f}%",
        "NetIO": f"{human_size(after.net_rx)} / {human_size(after.net_tx)}",
        "BlockIO": f"{human_size(after.block_read)} / {human_size(after.block_write)}",
        "PIDs": str(after.pids),
    }).items()))


def render(rows: list[dict[str, object]], fmt: str) -> str:
    if fmt == "json":
        return "\n".join(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in rows)
    return render_template(TEMPLATE if fmt == "table" else fmt, rows, HEADERS)


def _chosen(orch: Orchestrator, services: tuple[str, ...], all_: bool) -> list[ContainerInfo]:
    from engine.api import ContainerStatus

    infos = orch.containers(services)
    return infos if all_ else [i for i in infos if i.status is ContainerStatus.RUNNING]


def _read(orch: Orchestrator, infos: list[ContainerInfo]) -> Samples:
    return {info.id: orch.engine.resource_sample(info) for info in infos}


def _table(
    infos: list[ContainerInfo], before: Samples, after: Samples, no_trunc: bool, fmt: str
) -> str:
    rows = [stats_row(i, before.get(i.id), after.get(i.id), no_trunc) for i in infos]
    return render(rows, fmt)


def stats(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    all_: bool = typer.Option(
        False, "-a", "--all", help="Show all containers (default shows just running)"
    ),
    no_stream: bool = typer.Option(
        False, "--no-stream", help="Disable streaming stats and only pull the first result"
    ),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate output"),
    fmt: str = typer.Option(
        "table", "--format", help="table, json, or a Go template such as '{{.Name}}'"
    ),
) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    from compose.cli.session import orchestrator

    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    render([dict.fromkeys(FIELDS, "")], fmt)  # a bad template fails now, not in a second
    infos = _chosen(orch, chosen, all_)
    before = _read(orch, infos)
    try:
        while True:
            time.sleep(INTERVAL)
            after = _read(orch, infos)
            table = _table(infos, before, after, no_trunc, fmt)
            if no_stream:
                print(table)
                return
            screen = CLEAR_SCREEN if sys.stdout.isatty() else ""
            print(f"{screen}{table}", flush=True)
            infos = _chosen(orch, chosen, all_)  # containers started or stopped meanwhile
            before = {i.id: after[i.id] if i.id in after else orch.engine.resource_sample(i)
                      for i in infos}
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    app.command()(stats)
