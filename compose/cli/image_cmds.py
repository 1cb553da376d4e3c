"""`pycompose image …`: the local image store, archives, registries and builds (docker's
`docker image` verbs). Engine modules beyond the facade are imported inside the commands, so
`pycompose --help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from compose.cli.inspect_format import FORMAT_HELP, print_documents
from compose.cli.interrupts import sigterm_as_ctrl_c
from compose.human_size import human_size
from compose.human_time import since

if TYPE_CHECKING:
    from engine.api import Engine, Image


def _engine() -> Engine:
    """The engine, imported on use: `pycompose --help` should not pay for it."""
    from engine.api import Engine

    return Engine()

image_app = typer.Typer(help="Manage images", no_args_is_help=True)


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("   ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())


def progress_printer() -> Any:
    """Per-layer pull/push progress on stderr: one line per state change; byte counts only
    on a terminal (rewritten in place), never flooding a log file."""
    tty = sys.stderr.isatty()
    last: dict[str, str] = {}

    def report(event: Any) -> None:
        if not event.layer:
            print(event.status, file=sys.stderr)
            return
        if event.status == "Downloading":
            if tty and event.total:
                print(
                    f"\r{event.layer}: Downloading "
                    f"{human_size(event.current)}/{human_size(event.total)}",
                    end="",
                    file=sys.stderr,
                )
            return
        if last.get(event.layer) == event.status:
            return
        last[event.layer] = event.status
        print(("\r" if tty else "") + f"{event.layer}: {event.status}" + " " * 10, file=sys.stderr)

    return report


# ------------------------------------------------------------------------------ store


@image_app.command("import")
def import_(
    tarball: Path = typer.Argument(..., help="Root filesystem tarball (tar or tar.gz)"),
    reference: str = typer.Argument(None, help="NAME[:TAG]"),
) -> None:
    """Import a root filesystem tarball as a one-layer image (like docker import)."""
    if not tarball.is_file():
        raise typer.BadParameter(f"{tarball}: no such file", param_hint="TARBALL")
    image = _engine().import_image(tarball, reference)
    print(image.id)


IMAGE_HEADERS = {
    "Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED",
    "Digest": "DIGEST", "ID": "IMAGE ID", "Repository": "REPOSITORY",
    "SharedSize": "SHARED SIZE", "Size": "SIZE", "Tag": "TAG", "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "VIRTUAL SIZE",
}


def image_rows(engine: Engine, image: Image, no_trunc: bool) -> list[dict[str, object]]:
    """docker's ImageContext for each of the image's tags, as `{{json .}}` prints it."""
    from compose.human_time import parse_rfc3339

    digest = image.manifest_digest if engine.images.repo_digests(image) else "<none>"
    created = parse_rfc3339(image.created) if image.created else None
    rows: list[dict[str, object]] = []
    for tag in image.repo_tags or ("<none>:<none>",):
        repo, _, name_tag = tag.rpartition(":")
        rows.append({
            "Containers": "N/A",
            "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if created else "",
            "CreatedSince": f"{since(image.created)} ago" if image.created else "N/A",
            "Digest": digest,
            "ID": image.id if no_trunc else image.short_id,
            "Repository": repo,
            "SharedSize": "N/A",
            "Size": human_size(image.size),
            "Tag": name_tag,
            "UniqueSize": "N/A",
            "VirtualSize": human_size(image.size),
        })
    return rows


@image_app.command("ls")
def ls(
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only show image IDs"),
    digests: bool = typer.Option(False, "--digests", help="Show digests"),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Don't truncate output"),
    fmt: str = typer.Option(
        "table", "--format", help="table, json, or a Go template such as '{{.ID}}'"
    ),
) -> None:
    """List images."""
    from compose.cli.ps_cmd import render_template

    engine = _engine()
    images = engine.list_images()
    if quiet:
        for image in images:
            print(image.id if no_trunc else image.short_id)
        return
    columns = ["{{.Repository}}", "{{.Tag}}", *(["{{.Digest}}"] if digests else []),
               "{{.ID}}", "{{.CreatedSince}}", "{{.Size}}"]
    table = "table " + "\t".join(columns)
    template = {"table": table, "": table, "json": "{{json .}}"}.get(fmt, fmt)
    rows = [row for image in images for row in image_rows(engine, image, no_trunc)]
    text = render_template(template, rows, IMAGE_HEADERS)
    if text:
        print(text)


def inspect_document(engine: Engine, image: Image) -> dict[str, Any]:
    """Docker's `image inspect` shape (the keys tools and users read)."""
    doc = engine.images.config_document(image)
    config = {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
        "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
        "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
        "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
    }
    config.update(doc.get("config") or {})
    return {
        "Id": image.id,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(engine.images.repo_digests(image)),
        "Parent": "",
        "Comment": doc.get("comment", ""),  # `commit -m` writes it, as Docker's image config
        "Created": image.created,
        "DockerVersion": "",
        "Author": doc.get("author", ""),
        "Config": config,
        "Architecture": image.architecture,
        "Os": image.os,
        "Size": image.size,
        "GraphDriver": {"Name": "overlay2", "Data": None},
        "RootFS": {"Type": "layers", "Layers": list(image.diff_ids)},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


@image_app.command("inspect")
def inspect(
    images: list[str] = typer.Argument(..., help="Images to inspect"),
    format_: str = typer.Option(None, "-f", "--format", help=FORMAT_HELP),
) -> None:
    """Display detailed information on one or more images (Docker-shaped JSON)."""
    engine = _engine()
    docs = [inspect_document(engine, engine.get_image(name)) for name in images]
    print_documents(docs, format_)


@image_app.command("history")
def history(image: str = typer.Argument(...), no_trunc: bool = typer.Option(False, "--no-trunc"),
            quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Show the history of an image (one row per step, newest first)."""
    engine = _engine()
    img = engine.get_image(image)
    doc = engine.images.config_document(img)
    layers = list(engine.images.layer_sizes(img))
    rows = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    entries = doc.get("history") or []
    sizes: list[int] = []
    for entry in entries:
        sizes.append(0 if entry.get("empty_layer") else layers.pop(0) if layers else 0)
    for index, entry in enumerate(reversed(entries)):
        ident = img.short_id if index == 0 else "<missing>"
        created_by = str(entry.get("created_by", "")).replace("\t", " ")  # as docker's
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        if quiet:
            print(ident)
            continue
        when = entry.get("created")
        rows.append([ident, f"{since(when)} ago" if when else "N/A", created_by,
                     human_size(sizes[len(entries) - 1 - index]), str(entry.get("comment", ""))])
    if not quiet:
        _table(rows)


@image_app.command("tag")
def tag(source: str = typer.Argument(...), target: str = typer.Argument(...)) -> None:
    """Create a tag TARGET that refers to SOURCE."""
    _engine().images.tag(source, target)


def _users(engine: Engine) -> dict[str, list[str]]:
    """Image id → names of containers created from it."""
    users: dict[str, list[str]] = {}
    for info in engine.list_containers():
        users.setdefault(info.record.image_id, []).append(info.name)
    return users


@image_app.command("rm")
def rm(
    references: list[str] = typer.Argument(...),
    force: bool = typer.Option(False, "-f", "--force", help="Remove even if containers use it"),
) -> None:
    """Remove images (untag; content is dropped when no tag is left and no container uses it)."""
    engine = _engine()
    for reference in references:
        image = engine.get_image(reference)
        engine.remove_image(reference, force)
        for name in _untagged_names(reference, image.id, image.repo_tags):
            print(f"Untagged: {name}")
        if engine.images.find(image.id) is None:
            print(f"Deleted: {image.id}")


def _untagged_names(reference: str, image_id: str, tags: tuple[str, ...]) -> list[str]:
    """What docker says it untagged: the name with its tag (`busybox:latest` for `busybox`),
    or, removing by id, every tag the image had."""
    if image_id.removeprefix("sha256:").startswith(reference.removeprefix("sha256:")):
        return list(tags)
    tagged = "@" in reference or ":" in reference.rsplit("/", 1)[-1]
    return [reference if tagged else f"{reference}:latest"]


@image_app.command("prune")
def prune(
    all_: bool = typer.Option(False, "-a", "--all", help="Remove all images not used by"
                              " containers, not just dangling ones"),
    force: bool = typer.Option(False, "-f", "--force", help="Do not prompt for confirmation"),
) -> None:
    """Remove unused images, then unreferenced blobs and unpacked layers."""
    from engine.api import BuildCache

    del force  # never prompts: scripts are the main user
    engine = _engine()
    engine.sweep_build_orphans()  # a killed build's step container holds its stage's image
    used = _users(engine)
    deleted: list[str] = []
    for image in engine.list_images():
        if image.id in used or (image.repo_tags and not all_):
            continue
        for name in image.repo_tags:
            engine.images.remove(name)
        if engine.images.find(image.id) is not None:
            engine.images.remove(image.id)
        deleted.append(image.id)
    keep = tuple(BuildCache(engine.layout.root).manifests()) if not all_ else ()
    if all_:
        BuildCache(engine.layout.root).clear()
    blobs, freed = engine.images.gc(keep_manifests=keep)
    if deleted:
        print("Deleted Images:")
        for ident in deleted:
            print(f"deleted: {ident}")
    print(f"Total reclaimed space: {human_size(freed)} ({blobs} blobs)")


# ------------------------------------------------------------------------------ archives


@image_app.command("save")
def save(
    images: list[str] = typer.Argument(..., help="Images to save"),
    output: Path = typer.Option(None, "-o", "--output", help="Write to a file, not stdout"),
) -> None:
    """Save images to a tar archive (docker-archive and OCI layout in one)."""
    from engine.api import save_images

    engine = _engine()
    if output is None:
        if sys.stdout.isatty():
            raise typer.BadParameter("refusing to write an archive to a terminal; use -o FILE")
        save_images(engine.images, list(images), sys.stdout.buffer)
        return
    save_images(engine.images, list(images), output)


@image_app.command("load")
def load(
    input_: Path = typer.Option(None, "-i", "--input", help="Read from a tar archive file"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """Load images from a `docker save` or OCI archive (file or stdin)."""
    import tempfile

    from engine.api import load_archive

    engine = _engine()
    if input_ is None:
        with tempfile.NamedTemporaryFile(dir=engine.layout.root, suffix=".tar") as temp:
            while chunk := sys.stdin.buffer.read(1 << 20):
                temp.write(chunk)
            temp.flush()
            loaded = load_archive(engine.images, Path(temp.name))
    else:
        loaded = load_archive(engine.images, input_)
    for name, image in loaded:
        if not quiet:
            print(f"Loaded image: {name}" if name else f"Loaded image ID: {image.id}")


# ------------------------------------------------------------------------------ registry


@image_app.command("pull")
@sigterm_as_ctrl_c()
def pull(
    name: str = typer.Argument(..., help="NAME[:TAG|@DIGEST]"),
    platform: str = typer.Option(None, "--platform", help="os/arch, e.g. linux/amd64"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """Download an image from a registry."""
    image = _engine().pull_image(name, platform, None if quiet else progress_printer())
    if quiet:
        print(image.repo_tags[0] if image.repo_tags else image.id)


@image_app.command("push")
def push(
    name: str = typer.Argument(..., help="NAME[:TAG]"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
) -> None:
    """Upload an image to a registry."""
    _engine().push_image(name, None, None if quiet else progress_printer())


def parse_pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """`KEY=VALUE` options; a bare `KEY` takes the value from the environment (docker's rule)."""
    import os

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not key:
            raise typer.BadParameter(f"invalid {what} {item!r}: expected KEY=VALUE")
        if not sep:
            if key not in os.environ:
                continue
            value = os.environ[key]
        out[key] = value
    return out


@image_app.command("build")
@sigterm_as_ctrl_c()
def build(
    context: Path = typer.Argument(..., help="Build context directory"),
    tags: list[str] = typer.Option(None, "-t", "--tag", help="Name and optionally a tag"),
    file: Path = typer.Option(None, "-f", "--file", help="Dockerfile (default CONTEXT/Dockerfile)"),
    build_arg: list[str] = typer.Option(None, "--build-arg", help="Set a build-time variable"),
    target: str = typer.Option(None, "--target", help="Build stage to stop at"),
    label: list[str] = typer.Option(None, "--label", help="Set metadata for the image"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the layer cache"),
    network: str = typer.Option("host", "--network", help="RUN network: host or none"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only the image id"),
    pull: bool = typer.Option(False, "--pull", help="Pull base images from their registry"),
    secret: list[str] = typer.Option(
        None, "--secret", help="Secret for RUN --mount=type=secret: id=x,src=path | id=x,env=VAR"
    ),
) -> None:
    """Build an image from a Dockerfile (like docker build)."""
    import os

    from compose.build_secrets import parse_secret_flag
    from engine.api import BuildOptions

    if network not in ("host", "none", "default"):
        raise typer.BadParameter("use host, none or default", param_hint="--network")
    dockerfile_inline: str | None = None
    dockerfile: Path | None = file.resolve() if file is not None else None
    if file is not None and str(file) == "-":
        dockerfile_inline, dockerfile = sys.stdin.read(), None
    options = BuildOptions(
        context=context,
        dockerfile=dockerfile,
        dockerfile_inline=dockerfile_inline,
        tags=tuple(tags or ()),
        build_args=parse_pairs(build_arg, "--build-arg"),
        target=target,
        labels=parse_pairs(label, "--label"),
        no_cache=no_cache,
        network="host" if network == "default" else network,
        pull=pull,
        secrets=tuple(s for s in (parse_secret_flag(text, dict(os.environ), Path.cwd())
                                  for text in secret or ()) if s is not None),
    )
    result = _engine().build_image(
        options, (lambda _l: None) if quiet else (lambda line: print(line, file=sys.stderr))
    )
    if quiet:
        print(result.image.id)


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")
