"""Which stack files to read, the way docker compose finds them.

`-f` files win (repeatable, `-` is stdin); else `COMPOSE_FILE` (os.pathsep-separated); else
the first of the standard names in the working directory or a parent, plus its override file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from compose.errors import ComposeFileNotFoundError

STDIN = "-"
OCI_PREFIX = "oci://"
DEFAULT_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_NAMES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)


@dataclass(frozen=True)
class ConfigSources:
    """The files to read in order (`-` for stdin) and the directory they imply."""

    files: tuple[str, ...]
    directory: Path
    # docker compose's warnings about the choice ("Found multiple config files …").
    warnings: tuple[str, ...] = ()


def _absolute(name: str, cwd: Path) -> str:
    if name == STDIN:
        return name
    if name.startswith(OCI_PREFIX):  # a published project, fetched (compose.oci_remote)
        from compose.oci_remote import load_compose_artifact

        return str(load_compose_artifact(name))
    path = Path(os.path.expanduser(name))
    return str(path if path.is_absolute() else (cwd / path))


def _check_exists(files: tuple[str, ...]) -> None:
    for f in files:
        if f != STDIN and not Path(f).is_file():
            if Path(f).is_dir():
                for name in DEFAULT_NAMES:
                    if (Path(f) / name).is_file():
                        break
                else:
                    raise ComposeFileNotFoundError(f"open {f}: no such file or directory")
                continue
            raise ComposeFileNotFoundError(f"open {f}: no such file or directory")


def _directory_to_file(f: str) -> str:
    """`-f some/dir` means the default file inside it, as docker compose accepts."""
    if f != STDIN and Path(f).is_dir():
        for name in DEFAULT_NAMES:
            if (Path(f) / name).is_file():
                return str(Path(f) / name)
    return f


def find_default_file(start: Path) -> Path | None:
    """The first standard-named file in `start` or its parents."""
    current = start
    while True:
        for name in DEFAULT_NAMES:
            candidate = current / name
            if candidate.is_file():
                return candidate
        if current.parent == current:
            return None
        current = current.parent


def find_override_file(directory: Path) -> Path | None:
    for name in OVERRIDE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _several(directory: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    """compose-go's warning when a directory holds more than one file of the standard names:
    the first wins, and the user should know the others are ignored."""
    found = [str(directory / name) for name in names if (directory / name).is_file()]
    if len(found) < 2:
        return ()
    return (f"Found multiple config files with supported names: {', '.join(found)}",
            f"Using {found[0]}")


def discover(
    files: tuple[str, ...],
    env: Mapping[str, str | None],
    cwd: Path,
    project_directory: Path | None,
) -> ConfigSources:
    """Resolve the stack files; raise ComposeFileNotFoundError when there are none."""
    cwd = cwd.absolute()
    base = project_directory.absolute() if project_directory else cwd
    chosen: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    if files:
        chosen = tuple(_absolute(f, cwd) for f in files)
    elif env.get("COMPOSE_FILE"):
        separator = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        names = [n for n in str(env["COMPOSE_FILE"]).split(separator) if n]
        chosen = tuple(_absolute(n, base) for n in names)
    else:
        found = find_default_file(base)
        if found is None:
            raise ComposeFileNotFoundError(
                "no configuration file provided: not found",
                hint=f"looked for {', '.join(DEFAULT_NAMES)} in {base} and its parents",
            )
        override = find_override_file(found.parent)
        chosen = (str(found),) + ((str(override),) if override else ())
        warnings = _several(found.parent, DEFAULT_NAMES) + _several(found.parent, OVERRIDE_NAMES)
    _check_exists(chosen)
    chosen = tuple(_directory_to_file(f) for f in chosen)
    if project_directory:
        directory = project_directory.absolute()
    else:
        first = next((f for f in chosen if f != STDIN), None)
        directory = Path(first).parent if first else cwd
    return ConfigSources(chosen, Path(os.path.normpath(directory)), warnings)
