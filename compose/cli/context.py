"""The global flags, carried from the top-level callback to every sub-command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer

from compose.model import LoadOptions


@dataclass(frozen=True)
class GlobalOptions:
    files: tuple[str, ...]
    project_name: str | None
    project_directory: str | None
    env_files: tuple[str, ...]
    profiles: tuple[str, ...]
    debug: bool
    # --parallel / COMPOSE_PARALLEL_LIMIT as given (validated by compose.scheduler.parallel_limit)
    parallel: int | str | None = None
    # --progress: auto | tty | plain | json | quiet
    progress: str = "auto"

    def load_options(self) -> LoadOptions:
        return LoadOptions(
            files=self.files,
            project_name=self.project_name,
            project_directory=Path(self.project_directory) if self.project_directory else None,
            env_files=self.env_files,
            profiles=self.profiles,
            environ=dict(os.environ),
            cwd=Path.cwd(),
        )


def global_options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    assert isinstance(obj, GlobalOptions)
    return obj
