"""`cp`: copy files between a service container and the host.

A running container's filesystem (with its volumes and binds) is reached through
/proc/<pid>/root; a stopped one's through its overlay dirs: read from the upper dir, then the
image layers top-down, write into the upper dir. Container paths are resolved inside that root
and may not climb out of it with `..`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

import typer

from compose.errors import ComposeError


def _split(arg: str) -> tuple[str | None, str]:
    """`service:/path` → (service, path); a plain host path → (None, path)."""
    head, sep, tail = arg.partition(":")
    if sep and head and "/" not in head and not arg.startswith((".", "/")):
        return head, tail
    return None, arg


def _inside(root: Path, path: str) -> Path:
    parts = [p for p in PurePosixPath("/", path).parts[1:] if p not in ("", ".")]
    if ".." in parts:
        raise ComposeError(f"container path {path!r} may not contain '..'")
    return root.joinpath(*parts)


def _roots(engine: object, info: object) -> tuple[list[Path], Path]:
    """(roots to read from, in order; root to write into)."""
    from engine.api import ContainerInfo, ContainerStatus, Engine

    assert isinstance(engine, Engine) and isinstance(info, ContainerInfo)
    if info.status is ContainerStatus.RUNNING and info.state.pid:
        root = Path(f"/proc/{info.state.pid}/root")
        return [root], root
    upper = engine.layout.container_dir(info.id) / "upper"
    upper.mkdir(parents=True, exist_ok=True)
    lowers = [Path(p) for p in engine.images.layer_paths(engine.images.get(info.record.image_id))]
    return [upper, *lowers], upper


def _copy(source: Path, dest: Path, archive: bool) -> None:
    """Copy `source` to exactly `dest` (the caller decided whether it goes into a dir)."""
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest, follow_symlinks=False)
    if not archive:
        for path in [dest, *(dest.rglob("*") if dest.is_dir() else [])]:
            if not path.is_symlink():
                os.chown(path, os.getuid(), os.getgid())


def cp(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="SERVICE:SRC_PATH or a host path"),
    dest: str = typer.Argument(..., help="DEST_PATH or SERVICE:DEST_PATH"),
    index: int = typer.Option(None, "--index", help="Replica number (default 1)"),
    archive: bool = typer.Option(False, "-a", "--archive", help="Keep uid/gid"),
    all_: bool = typer.Option(False, "--all", help="Include one-off containers"),
) -> None:
    """Copy files/folders between a service container and the local filesystem."""
    from compose import labels as L
    from compose.cli.session import orchestrator

    src_service, src_path = _split(source)
    dst_service, dst_path = _split(dest)
    if (src_service is None) == (dst_service is None):
        raise ComposeError("cp: exactly one of SOURCE and DEST must be SERVICE:PATH")
    service = src_service or dst_service
    assert service is not None
    orch = orchestrator(ctx, quiet=True)
    orch.check_services((service,))
    infos = orch.containers((service,), include_oneoff=all_)
    if index is not None:
        infos = [c for c in infos if c.labels.get(L.NUMBER) == str(index)]
    if not infos:
        raise ComposeError(f"no container found for service {service}")
    info = infos[0]
    reads, write = _roots(orch.engine, info)
    if src_service is not None:
        found = next((p for r in reads if (p := _inside(r, src_path)).exists()), None)
        if found is None:
            raise ComposeError(f"could not find the file {src_path} in container {info.name}")
        target = Path(dst_path)
        _copy(found, target / found.name if target.is_dir() else target, archive)
    else:
        local = Path(src_path)
        if not local.exists():
            raise ComposeError(f"no such file or directory: {src_path}")
        target = _inside(write, dst_path)
        if dst_path.endswith("/") or any(_inside(r, dst_path).is_dir() for r in reads):
            target = target / local.name
        _copy(local, target, True)


def register(app: typer.Typer) -> None:
    app.command()(cp)
