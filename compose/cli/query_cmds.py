"""`ps`, `logs` and `images`: commands that only look (`ps` itself lives in ps_cmd)."""

from __future__ import annotations

import json

import typer

from compose.cli import ps_cmd
from compose.cli.log_printer import print_logs
from compose.cli.names import log_prefix
from compose.cli.session import orchestrator
from compose.human_size import human_size


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
    print_logs(
        streams, prefix=not no_prefix, color=False if no_color else None, timestamps=timestamps
    )


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
