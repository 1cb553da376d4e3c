"""`image import|ls|rm` and `images`: the local image store."""

from __future__ import annotations

from pathlib import Path

import typer

from compose.human_time import since
from engine.api import Engine

image_app = typer.Typer(help="Manage images", no_args_is_help=True)


def _size(num: int) -> str:
    value = float(num)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}TB"


@image_app.command("import")
def import_(
    tarball: Path = typer.Argument(..., help="Root filesystem tarball (tar or tar.gz)"),
    reference: str = typer.Argument(None, help="NAME[:TAG]"),
) -> None:
    """Import a root filesystem tarball as a one-layer image (like docker import)."""
    if not tarball.is_file():
        raise typer.BadParameter(f"{tarball}: no such file", param_hint="TARBALL")
    image = Engine().import_image(tarball, reference)
    print(image.id)


@image_app.command("ls")
def ls(quiet: bool = typer.Option(False, "-q", "--quiet", help="Only show image IDs")) -> None:
    """List images."""
    rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]
    for image in Engine().list_images():
        if quiet:
            print(image.id.removeprefix("sha256:")[:12])
            continue
        for tag in image.repo_tags or ("<none>:<none>",):
            repo, _, name_tag = tag.rpartition(":")
            rows.append(
                [
                    repo,
                    name_tag,
                    image.id.removeprefix("sha256:")[:12],
                    f"{since(image.created)} ago",
                    _size(image.size),
                ]
            )
    if quiet:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("   ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())


@image_app.command("rm")
def rm(references: list[str] = typer.Argument(...)) -> None:
    """Remove images (untag; content is dropped when no tag is left)."""
    engine = Engine()
    for reference in references:
        engine.images.remove(reference)
        print(f"Untagged: {reference}")


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")
