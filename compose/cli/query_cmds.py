"""`ps`, `logs` and `images`: commands that only look (`ps` itself lives in ps_cmd)."""

from __future__ import annotations

import threading
import time

import typer

from compose.cli import ps_cmd
from compose.cli.context import global_options
from compose.cli.log_printer import LogPrinter, print_logs
from compose.cli.names import log_prefix
from compose.cli.session import orchestrator
from compose.human_size import human_size
from compose.human_time import since as ago

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
    index: int = typer.Option(
        0, "--index", help="index of the container if service has multiple replicas"
    ),
) -> None:
    """View output from containers."""
    from compose import labels as L
    from compose.errors import ComposeError

    if index > 0 and len(services or ()) != 1:
        raise ComposeError("--index requires one service to be selected")
    colors = global_options(ctx).colors  # --ansi, NO_COLOR
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    count = _tail_count(tail)
    infos = orch.containers(chosen)
    if index > 0:
        infos = [c for c in infos if c.labels.get(L.NUMBER) == str(index)]
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
    fmt: str = typer.Option(
        "table", "--format", help="Format the output. Values: [table | json] (or '{{json .}}')"
    ),
) -> None:
    """List images used by the created containers."""
    from compose.cli import list_format
    from compose.errors import ComposeError

    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    rows = sorted(  # every container of the project, `run`'s included, as docker compose's
        (image_row(orch, info) for info in orch.containers(chosen, include_oneoff=True)),
        key=lambda r: str(r["ContainerName"]),
    )
    if quiet:
        for image_id in dict.fromkeys(str(r["ID"]).partition(":")[2] or r["ID"] for r in rows):
            print(image_id)
        return
    cells = [
        [
            str(r["ContainerName"]),
            str(r["Repository"]) or "<none>",
            str(r["Tag"]) or "<none>",
            str(r["Platform"]),
            str(r["ID"]).removeprefix("sha256:")[:12],
            human_size(int(str(r["Size"]))),
            f"{ago(str(r['Created']))} ago" if "Created" in r else "N/A",
        ]
        for r in rows
    ]
    try:
        text = list_format.render_list(
            rows or None, fmt,
            ("CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED"), cells,
        )
    except list_format.FormatError as exc:
        raise ComposeError(str(exc)) from None
    print(text, end="")


def image_row(orch: Orchestrator, info: ContainerInfo) -> dict[str, object]:
    """docker compose's `images --format json` object for one container's image."""
    image = orch.engine.images.find(info.record.image_id)
    name, tag = repository_and_tag(info.record.spec.image)
    row: dict[str, object] = {
        "ID": info.record.image_id,
        "ContainerName": info.name,
        "Repository": name,
        "Tag": tag,
        "Platform": f"{image.os}/{image.architecture}" if image and image.os else "",
        "Size": image.size if image else 0,
    }
    if image and image.created:
        row["Created"] = image.created
    return row


def repository_and_tag(reference: str) -> tuple[str, str]:
    """docker compose's Repository and Tag of the image a container was created from
    (reference.ParseDockerRef): the familiar name (`busybox`, `reg:5000/app`), the tag
    (`latest` when none is written, "" when a digest pins the image); ("", "") for what is no
    reference."""
    from engine.api import EngineError, parse_reference

    try:
        parsed = parse_reference(reference)
    except EngineError:
        return "", ""
    return parsed.familiar_name, "" if parsed.digest else parsed.tag or ""


def register(app: typer.Typer) -> None:
    app.command()(ps_cmd.ps)
    app.command()(logs)
    app.command()(images)
