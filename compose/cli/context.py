"""The global flags, carried from the top-level callback to every sub-command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:  # the fast `run` path (compose.cli.fast_run) never imports typer
    import typer

    from compose.model import LoadOptions


@dataclass(frozen=True)
class GlobalOptions:
    """The top-level flags, passed to every sub-command; `load_options` turns them into the
    loader's input so every command loads the project the same way."""

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
    # --all-resources: keep the networks, volumes, secrets and configs no service uses
    all_resources: bool = False
    # --ansi / COMPOSE_ANSI: auto | never | always (checked against --progress when made)
    ansi: str = "auto"
    # Whether container output and log prefixes are coloured: None decides by the terminal
    # (--ansi auto); False for --ansi never or NO_COLOR; True for --ansi always.
    colors: bool | None = None
    # --compatibility / COMPOSE_COMPATIBILITY: docker-compose v1's `_` in container names
    compatibility: bool = False
    # --dry-run: what the command would do is printed (`DRY-RUN MODE -` lines), nothing is done
    dry_run: bool = False

    def load_options(self) -> LoadOptions:
        from compose.model import LoadOptions

        return LoadOptions(
            files=self.files,
            project_name=self.project_name,
            project_directory=Path(self.project_directory) if self.project_directory else None,
            env_files=self.env_files,
            profiles=self.profiles,
            environ=dict(os.environ),
            cwd=Path.cwd(),
        )


def make_global_options(
    files: tuple[str, ...] = (),
    project_name: str | None = None,
    project_directory: str | None = None,
    env_files: tuple[str, ...] = (),
    profiles: tuple[str, ...] = (),
    debug: bool = False,
    parallel: int | None = None,
    progress: str | None = None,
    all_resources: bool = False,
    ansi: str | None = None,
    compatibility: bool = False,
    dry_run: bool = False,
    no_ansi: bool = False,
    workdir: str | None = None,
) -> GlobalOptions:
    """The global flags as given, completed from the environment the way docker compose does
    (PYCOMPOSE_DEBUG, COMPOSE_PARALLEL_LIMIT, COMPOSE_PROGRESS, COMPOSE_ANSI, NO_COLOR,
    COMPOSE_COMPATIBILITY): shared by the Typer callback and the fast paths so both see the
    same options. A bad or contradictory --ansi raises ComposeError. docker compose's hidden,
    deprecated `--no-ansi` and `--workdir` are read as it reads them (with its warnings)."""
    ansi, project_directory = _deprecated(no_ansi, ansi, workdir, project_directory)
    progress = progress or os.environ.get("COMPOSE_PROGRESS") or "auto"
    ansi = ansi or os.environ.get("COMPOSE_ANSI") or "auto"
    colors = ansi_colors(ansi, progress)
    if os.environ.get("NO_COLOR"):
        colors = False
    return GlobalOptions(
        files=files,
        project_name=project_name,
        project_directory=project_directory,
        env_files=env_files,
        profiles=profiles,
        debug=debug or bool(os.environ.get("PYCOMPOSE_DEBUG")),
        parallel=parallel if parallel is not None else os.environ.get("COMPOSE_PARALLEL_LIMIT"),
        progress="plain" if ansi == "never" and progress == "auto" else progress,
        all_resources=all_resources,
        ansi=ansi,
        colors=colors,
        compatibility=compatibility or string_to_bool(os.environ.get("COMPOSE_COMPATIBILITY")),
        dry_run=dry_run,
    )


ANSI_MODES = ("auto", "never", "always")


def _deprecated(
    no_ansi: bool, ansi: str | None, workdir: str | None, project_directory: str | None
) -> tuple[str | None, str | None]:
    """(--ansi, --project-directory) once docker compose's deprecated spellings are read:
    `--no-ansi` is `--ansi never`, `--workdir` is `--project-directory`; each says so on
    stderr, and is refused next to the flag that replaced it (cmd/compose/compose.go)."""
    import sys

    from compose.errors import ComposeError

    if no_ansi:
        if ansi not in (None, "auto"):
            raise ComposeError(
                'cannot specify DEPRECATED "--no-ansi" and "--ansi". Please use only "--ansi"'
            )
        ansi = "never"
        print("option '--no-ansi' is DEPRECATED ! Please use '--ansi' instead.", file=sys.stderr)
    if workdir:
        if project_directory:
            raise ComposeError(
                'cannot specify DEPRECATED "--workdir" and "--project-directory". Please use '
                'only "--project-directory" instead'
            )
        project_directory = workdir
        print(
            "option '--workdir' is DEPRECATED at root level! Please use '--project-directory' "
            "instead.", file=sys.stderr,
        )
    return ansi, project_directory

# Commands whose changes --dry-run shows without making them (through engine.api's
# dry_run_engine), and commands that change nothing anyway.
DRY_RUN_COMMANDS = frozenset(
    ("up", "down", "create", "start", "stop", "restart", "kill", "rm", "scale", "publish")
)
READ_ONLY_COMMANDS = frozenset((
    "ps", "ls", "config", "logs", "images", "top", "port", "version", "events", "stats",
    "volumes", "container",  # `container` has `inspect` only
))


def check_dry_run(command: str | None) -> bool:
    """Whether `command` under --dry-run works on the pretending engine (False: it changes
    nothing anyway and reads the real one). A command that would change something the dry run
    cannot fake is refused before anything runs: a dry run never does what it only shows."""
    from compose.errors import ComposeError

    if command in DRY_RUN_COMMANDS:
        return True
    if command is None or command in READ_ONLY_COMMANDS:
        return False
    supported = ", ".join(sorted(DRY_RUN_COMMANDS))
    raise ComposeError(
        f"--dry-run is not supported by `{command}` (supported: {supported})"
    )


def ansi_colors(ansi: str, progress: str) -> bool | None:
    """What --ansi means for colours (None: the terminal decides), with docker compose's checks
    (cmd/compose/compose.go): `never` and a live `tty` view, or `always` and `plain` lines,
    contradict each other."""
    from compose.errors import ComposeError

    if ansi not in ANSI_MODES:
        raise ComposeError(
            f"unsupported --ansi value {ansi!r} (use one of {', '.join(ANSI_MODES)})"
        )
    if ansi == "never" and progress == "tty":
        raise ComposeError("can't use --progress tty while ANSI support is disabled")
    if ansi == "always" and progress == "plain":
        raise ComposeError("can't use --progress plain while ANSI support is forced")
    return {"auto": None, "never": False, "always": True}[ansi]


def string_to_bool(text: str | None) -> bool:
    """docker compose's utils.StringToBool: y, 1, t, true (any case) are true."""
    return (text or "").strip().lower() in ("y", "1", "t", "true")


def global_options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    assert isinstance(obj, GlobalOptions)
    return obj
