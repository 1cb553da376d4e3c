"""Copying a batch of changed host files into a container, as docker compose's tar syncer.

Files (and directories, whole) that still exist on the host go in as one tar stream unpacked
at the container's `/`, through the engine's copy-into-container path (engine.api
`extract_into`: a child chrooted in the container unpacks it, so a container's symlink cannot
send a write to the host; missing parent directories are made). Paths gone from the host are
removed in the container with `rm -rf`, run there as docker compose runs it.
"""

from __future__ import annotations

import os
import tarfile

from compose.errors import ComposeError
from compose.watch_paths import PathMapping

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from engine.api import Engine


class SyncError(ComposeError):
    """A batch could not be copied into (or removed from) a container."""


def _arcname(container_path: str) -> str:
    return container_path.lstrip("/") or "."


def _without_nested(mappings: list[PathMapping]) -> list[PathMapping]:
    """One entry per container path (the last wins), and none under a directory that is copied
    whole anyway."""
    by_target = {m.container_path: m for m in mappings if m.container_path}
    dirs = {t for t, m in by_target.items() if os.path.isdir(m.host_path)}
    return [
        m for t, m in sorted(by_target.items())
        if not any(t.startswith(d.rstrip("/") + "/") for d in dirs if d != t)
    ]


def _numeric_owner(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owners by number only: a host user's name must not pick a different uid by that name
    in the container (Docker's archive copies numeric ids)."""
    member.uname = member.gname = ""
    return member


def tar_feed(mappings: list[PathMapping]) -> Callable[[BinaryIO], None]:
    """What writes the tar of `mappings` (host files under their container paths)."""

    def feed(out: BinaryIO) -> None:
        with tarfile.open(fileobj=out, mode="w|") as tar:
            for mapping in mappings:
                assert mapping.container_path is not None
                try:
                    tar.add(mapping.host_path, arcname=_arcname(mapping.container_path),
                            filter=_numeric_owner)
                except FileNotFoundError:
                    continue  # removed since the batch closed: the next batch removes it

    return feed


def sync_into(engine: Engine, container: str, mappings: list[PathMapping]) -> None:
    """Make the container's copies match the host's for these paths."""
    chosen = _without_nested(mappings)
    gone = [m.container_path for m in chosen if not os.path.lexists(m.host_path)]
    present = [m for m in chosen if os.path.lexists(m.host_path)]
    if gone:
        argv = ["rm", "-rf", *(p for p in gone if p)]
        from engine.api import EngineError

        try:
            result = engine.exec_in_container(container, argv)
        except EngineError as exc:
            raise SyncError(f"deleting paths in {container}: {exc}") from exc
        if result.exit_code != 0:
            raise SyncError(
                f"deleting paths in {container}: exit code {result.exit_code}: "
                f"{result.output.strip()}"
            )
    if present:
        from engine.api import EngineError

        try:
            # The host files' owners are kept, as Docker's copy into a container (compose's
            # sync) keeps them for a container without `user:`.
            engine.extract_into(container, "/", tar_feed(present), keep_owner=True)
        except (EngineError, OSError) as exc:
            raise SyncError(f"copying files to {container}: {exc}") from exc

