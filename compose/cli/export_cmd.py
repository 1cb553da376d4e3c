"""`export`: a service container's filesystem as a tar archive, as `docker compose export`
writes it (Docker's container export: the container's own files, without its volumes, binds
or kernel filesystems). To stdout, which must not be a terminal, or `-o FILE` (written to a
temporary name, 0600, then renamed: an interrupted export leaves no half archive)."""

from __future__ import annotations

import os
import shutil
import sys

import typer

from compose.errors import ComposeError


def export(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service whose container to export"),
    index: int = typer.Option(0, "--index", help="Index of the container if scaled"),
    output: str = typer.Option(None, "-o", "--output", help="Write to a file, instead of STDOUT"),
) -> None:
    """Export a service container's filesystem as a tar archive."""
    from compose import labels as L
    from compose.cli.session import orchestrator
    from engine.api import ContainerStatus

    if not output and sys.stdout.isatty():
        raise ComposeError("output option is required when exporting to terminal")
    orch = orchestrator(ctx, quiet=True)
    orch.check_services((service,))
    running = [
        c for c in orch.containers((service,), include_oneoff=True)
        if c.status is ContainerStatus.RUNNING
        and (index == 0 or c.labels.get(L.NUMBER) == str(index))
    ]
    if not running:
        which = f" container #{index}" if index else ""
        raise ComposeError(f'service "{service}" is not running{which}')
    with orch.engine.export_filesystem(running[0].id) as stream:
        if not output:
            shutil.copyfileobj(stream, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        _write_file(stream, output)


def _write_file(stream: object, output: str) -> None:
    from typing import BinaryIO, cast

    source = cast(BinaryIO, stream)
    if output.endswith("/") or os.path.isdir(output):
        raise ComposeError(
            f"failed to export container: invalid output path: {output!r} is a directory"
        )
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise ComposeError(
            f"failed to export container: invalid output path: directory {directory!r} does "
            "not exist"
        )
    temp = os.path.join(directory, f".{os.path.basename(output)}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            shutil.copyfileobj(source, handle)
        os.replace(temp, output)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def register(app: typer.Typer) -> None:
    app.command()(export)
