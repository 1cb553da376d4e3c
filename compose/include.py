"""`include`: other stack files loaded as their own sub-projects, then merged in.

Each included project has its own project directory (relative paths resolve there) and its
own environment (`env_file`, else its `.env`) that only its files see; the including
project's environment still wins, as in docker compose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from compose.dotenv import chain_lookup, read_dotenv
from compose.errors import ComposeFileError, Problem
from compose.paths import absolute

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    # Loads files as a sub-project: (files, project dir, env, include stack) -> model dict.
    LoadModel = Callable[[tuple[Path, ...], Path, dict[str, str], tuple[str, ...]], Any]


@dataclass(frozen=True)
class IncludeRequest:
    """One resolved `include` entry."""

    files: tuple[Path, ...]
    project_dir: Path
    env: dict[str, str]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _local(path: str, base_dir: Path) -> Path:
    """An included file: a path, or a published project (`oci://…`) fetched to local files."""
    if path.startswith("oci://"):
        from compose.oci_remote import load_compose_artifact

        return load_compose_artifact(path)
    return Path(absolute(path, base_dir))


def parse_include(
    entry: Any, base_dir: Path, env: Mapping[str, str]
) -> IncludeRequest:
    spec = {"path": entry} if isinstance(entry, str) else dict(entry)
    files = tuple(_local(p, base_dir) for p in _as_list(spec.get("path")))
    if spec.get("project_directory"):
        project_dir = Path(absolute(str(spec["project_directory"]), base_dir))
    else:
        project_dir = files[0].parent
    env_files = [Path(absolute(p, base_dir)) for p in _as_list(spec.get("env_file"))]
    if not env_files and (project_dir / ".env").is_file():
        env_files = [project_dir / ".env"]
    from_files: dict[str, str] = {}
    for path in env_files:
        values = read_dotenv(path, chain_lookup(env, from_files))
        from_files.update({k: v for k, v in values.items() if v is not None})
    merged = {**from_files, **env}
    return IncludeRequest(files, project_dir, merged)


def apply_include(
    entries: list[Any],
    base_dir: Path,
    env: Mapping[str, str],
    stack: tuple[str, ...],
    load: LoadModel,
) -> list[Any]:
    """The models of every included project, in order (whatever `load` returns)."""
    models: list[Any] = []
    for entry in entries:
        request = parse_include(entry, base_dir, env)
        for f in request.files:
            if str(f) in stack:
                chain = " -> ".join([*stack, str(f)])
                raise ComposeFileError([Problem(f"include cycle detected: {chain}", stack[-1])])
        models.append(load(request.files, request.project_dir, request.env, stack))
    return models
