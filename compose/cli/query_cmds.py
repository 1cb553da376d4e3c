"""`ps`, `logs` and `images`: commands that only look (`ps` itself lives in ps_cmd)."""

from __future__ import annotations

import json
import threading
import time

import typer

from compose.cli import ps_cmd
from compose.cli.context import global_options
from compose.cli.log_printer import LogPrinter, print_logs
from compose.cli.names import log_prefix
from compose.cli.session import orchestrator
from compose.human_size import human_size

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo

REATTACH_POLL = 0.25  # how soon a restarted container's lines join a `logs -f`
RESTART_GRACE = 1.0  # how long `logs -f` waits, everything stopped, for a start again


def logs(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    follow: bool = typer.Option(False, "-f", "--follow", help="Follow log output"),
    tail: str = typer.Option("all", "-n", "--tail", help="Lines from the end of each log"),
    timestamps: bool = typer.Option(False, "-t", "--timestamps"),
    since: str = typer.Option(
        None, "--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or "
        "relative (e.g. 42m for 42 minutes)"
    ),
    until: str = typer.Option(
        None, "--until", help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or "
        "relative (e.g. 42m for 42 minutes)"
    ),
    no_prefix: bool = typer.Option(False, "--no-log-prefix"),
    no_color: bool = typer.Option(False, "--no-color"),
) -> None:
    """View output from containers."""
    colors = global_options(ctx).colors  # --ansi, NO_COLOR
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    count = _tail_count(tail)
    infos = orch.containers(chosen)
    streams = {
        log_prefix(c): orch.engine.logs(
            c.id, follow=follow, tail=count, since=since, until=until
        )
        for c in infos
    }
    if not follow:
        print_logs(
            streams, prefix=not no_prefix, color=False if no_color else colors,
            timestamps=timestamps,
        )
        return
    ended: dict[str, str] = {}  # prefix -> the start time of the run whose stream ended
    last_end = [time.monotonic()]
    by_prefix = {log_prefix(c): c for c in infos}

    def on_end(name: str) -> None:
        ended[name] = by_prefix[name].state.started_at or ""
        last_end[0] = time.monotonic()

    printer = LogPrinter(
        streams, prefix=not no_prefix, color=False if no_color else colors,
        timestamps=timestamps, on_end=on_end,
    )
    threading.Thread(
        target=_reattach, args=(orch, printer, by_prefix, ended, until), daemon=True
    ).start()
    # A `restart` stops before it starts: the last stream's end waits a moment for it.
    printer.run(linger=lambda: time.monotonic() - last_end[0] < RESTART_GRACE)


def _reattach(
    orch: Orchestrator, printer: LogPrinter, by_prefix: dict[str, ContainerInfo],
    ended: dict[str, str], until: str | None,
) -> None:
    """docker compose's `logs -f` follows a container that starts again (`restart`, or its
    restart policy after a stop): its new run's lines join, from its new start time."""
    from engine.api import EngineError

    while True:
        time.sleep(REATTACH_POLL)
        for name, started in list(ended.items()):
            try:
                now = orch.engine.inspect(by_prefix[name].id)
            except EngineError:
                ended.pop(name, None)  # removed: nothing more to follow
                continue
            if now.state.started_at and now.state.started_at != started and now.status.active:
                del ended[name]
                by_prefix[name] = now
                printer.add(name, orch.engine.logs(
                    now.id, follow=True, since=now.state.started_at, until=until
                ))


def _tail_count(text: str) -> int | None:
    """Lines from the end, None for all: Docker's reading of `--tail` (a negative count is
    all; anything that is not a number is refused, naming the flag)."""
    if text == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a number or all", param_hint="--tail"
        ) from None
    return None if count < 0 else count


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
        print(json.dumps(rows, separators=(",", ":")))  # as Go's json.Marshal writes it
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
    app.command()(ps_cmd.ps)
    app.command()(logs)
    app.command()(images)
