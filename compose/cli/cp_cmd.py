"""`cp`: copy files between a service container and the host, as docker compose's `cp`.

Both ways go through tar streams the engine reads and writes in a child chrooted into the
container (engine.container_copy: a container's symlinks cannot point a copy at host files),
so `-` works as in docker: `cp svc:/path -` writes a tar to stdout, `cp - svc:/dir` unpacks
one from stdin. The host side unpacks with tarfile's `tar` filter: nothing lands outside the
destination.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

import typer

from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from compose.orchestrator import Orchestrator

STREAM = "-"


def _split(arg: str) -> tuple[str | None, str]:
    """`service:/path` → (service, path); a plain host path → (None, path)."""
    head, sep, tail = arg.partition(":")
    if sep and head and "/" not in head and not arg.startswith((".", "/")):
        return head, tail
    return None, arg


def _unpack(stream: BinaryIO, top: str, dest: Path, keep_owner: bool, as_dir: bool) -> None:
    """Docker's rule on the host: into `dest` when it is a directory, else as `dest`; a
    destination written with a trailing `/` must be an existing directory."""
    from engine.api import unpack_tar

    if as_dir and not dest.is_dir():
        raise ComposeError(f"the destination directory must exist: {dest}")
    into, new = (dest, top) if dest.is_dir() else (dest.parent, dest.name)
    if not into.is_dir():
        raise ComposeError(f"no such directory: {into}")
    owner = None if keep_owner else (os.getuid(), os.getgid())
    unpack_tar(stream, str(into), (top, new), owner)


def _copy_out(
    engine: object, container: str, path: str, dest: str, keep_owner: bool, follow: bool
) -> None:
    from engine.api import Engine

    assert isinstance(engine, Engine)
    with engine.open_archive(container, path, follow_link=follow) as stream:
        if dest == STREAM:
            shutil.copyfileobj(stream, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            top = "." if path.endswith("/.") else PurePosixPath("/", path).name or "."
            _unpack(stream, top, Path(dest), keep_owner, as_dir=dest.endswith("/"))


def _copy_in(
    engine: object,
    container: str,
    source: str,
    path: str,
    keep_owner: bool,
    follow: bool,
    tar_input: Callable[[], BinaryIO],
) -> None:
    from engine.api import Engine

    assert isinstance(engine, Engine)
    if source == STREAM:  # a tar on stdin, unpacked into the directory `path`
        engine.extract_into(
            container, path, lambda out: shutil.copyfileobj(tar_input(), out), keep_owner=True
        )
        return
    local = Path(source)
    if not local.exists() and not local.is_symlink():
        raise ComposeError(f"no such file or directory: {source}")

    # `DIR/.`: the directory's content, not the directory (docker cp's rule)
    top = "." if source.endswith("/.") else local.name

    def feed(out: BinaryIO) -> None:
        with tarfile.open(fileobj=out, mode="w|") as tar:
            tar.add(str(local.resolve() if follow else local), arcname=top)

    # `DIR/` must be an existing directory there (no rename: copied into it), as docker's
    rename = None if path.endswith("/") else top
    engine.extract_into(container, path, feed, rename=rename, keep_owner=keep_owner)


def cp(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="SERVICE:SRC_PATH, a host path, or - (a tar)"),
    dest: str = typer.Argument(..., help="DEST_PATH, SERVICE:DEST_PATH, or - (a tar)"),
    index: int = typer.Option(None, "--index", help="Replica number (default 1)"),
    archive: bool = typer.Option(False, "-a", "--archive", help="Keep uid/gid"),
    all_: bool = typer.Option(False, "--all", help="Include one-off containers"),
    follow_link: bool = typer.Option(
        False, "-L", "--follow-link", help="Always follow symbol link in SRC_PATH"
    ),
) -> None:
    """Copy files/folders between a service container and the local filesystem."""
    from compose import labels as L
    from compose.cli.session import orchestrator

    src_service, src_path = _split(source)
    dst_service, dst_path = _split(dest)
    if src_service is not None and dst_service is not None:
        raise ComposeError("copying between services is not supported")
    if src_service is None and dst_service is None:
        raise ComposeError("unknown copy direction")
    service = src_service or dst_service
    assert service is not None
    orch = orchestrator(ctx, title="Copying")
    orch.check_services((service,))
    infos = orch.containers((service,), include_oneoff=all_)
    if index is not None:
        infos = [c for c in infos if c.labels.get(L.NUMBER) == str(index)]
    if not infos and index is not None:
        raise ComposeError(f'service "{service}" is not running container #{index}')
    if not infos:
        raise ComposeError(f'no container found for service "{service}"')
    if src_service is not None:  # from the first replica, as docker compose copies
        with _reported(orch, f"copy {infos[0].name}:{src_path} to {dst_path}", infos[0].name):
            _copy_out(orch.engine, infos[0].id, src_path, dst_path, archive, follow_link)
        return
    # into every replica unless --index names one, as docker compose copies: a tar on stdin
    # is read once and given to each
    with _tar_inputs(src_path, len(infos)) as tar_input:
        for info in infos:
            with _reported(orch, f"copy {src_path} to {info.name}:{dst_path}", info.name):
                _copy_in(orch.engine, info.id, src_path, dst_path, archive, follow_link,
                         tar_input)


@contextlib.contextmanager
def _reported(orch: Orchestrator, what: str, container: str) -> Iterator[None]:
    """docker compose's two progress events of one container's copy, named by the container
    alone (` web-1 copy ./f to web-1:/tmp  Copying`, then `Copied`); a failed copy shows
    only its error, as there."""
    from compose.events import Event, Phase, ResourceKind

    label = f"{container} {what}"
    orch.report(Event(ResourceKind.BARE, label, Phase.COPYING))
    yield
    orch.report(Event(ResourceKind.BARE, label, Phase.COPIED))


@contextlib.contextmanager
def _tar_inputs(source: str, targets: int) -> Iterator[Callable[[], BinaryIO]]:
    """What gives each target the tar on stdin: stdin itself for one target; for more, a copy
    of it read once (in memory up to 16 MiB, then in a temporary file), rewound for each."""
    if source != STREAM or targets == 1:
        yield lambda: sys.stdin.buffer
        return
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=16 << 20) as copy:
        shutil.copyfileobj(sys.stdin.buffer, copy)

        def rewound() -> BinaryIO:
            copy.seek(0)
            return cast(BinaryIO, copy)

        yield rewound


def register(app: typer.Typer) -> None:
    app.command()(cp)
