"""The Typer application: global flags, sub-command registration, and the one error table.

The app is built on first use (`app` below is a lazy module attribute): `main` first offers
argv to the fast `run`, `up`, `down`, `ps` and `exec` paths (compose.cli.fast_run, fast_up,
fast_down, fast_ps, fast_exec), which need neither Typer nor the other commands' modules, and
only builds the app when they decline. Even then it registers only the module that defines the
command argv names (COMMAND_MODULES): importing the others and having Typer build their ~40
click commands cost every command
~15 ms of CPU. Help, an unknown command or global flags the fast paths cannot read get the whole
app.
"""

# No `from __future__ import annotations` here: Typer reads the callback's annotations, and
# `typer` is only a local name of build_app, so they must be evaluated where they are written.
import sys

TYPE_CHECKING = False  # not `typing`'s: the fast `run` starts the fork server before typing loads
if TYPE_CHECKING:
    from typing import Any

    import typer


# Registration order of the whole app (it is the order of `--help`).
MODULES = (
    "config_cmd", "lifecycle_cmds", "query_cmds", "image_cmds", "port_cmd", "exec_cmd",
    "build_cmds", "pause_cmds", "volume_cmds", "container_cmds", "cp_cmd", "misc_cmds", "run_cmd",
    "stats_cmd", "export_cmd", "watch_cmd", "commit_cmd", "attach_cmd", "publish_cmd",
)
# Command (or command group) name -> the compose.cli module whose `register` adds it
# (tests/unit/test_cli_app_modules.py checks it against what each module registers).
COMMAND_MODULES = {
    **dict.fromkeys(("build", "pull", "push", "login", "logout"), "build_cmds"),
    "attach": "attach_cmd",
    "commit": "commit_cmd",
    "config": "config_cmd",
    "container": "container_cmds",
    "cp": "cp_cmd",
    "exec": "exec_cmd",
    "export": "export_cmd",
    "image": "image_cmds",
    **dict.fromkeys(
        ("up", "down", "create", "stop", "start", "restart", "kill", "rm", "scale"),
        "lifecycle_cmds",
    ),
    **dict.fromkeys(("top", "events", "ls", "wait", "version"), "misc_cmds"),
    **dict.fromkeys(("pause", "unpause"), "pause_cmds"),
    "port": "port_cmd",
    "publish": "publish_cmd",
    **dict.fromkeys(("ps", "logs", "images"), "query_cmds"),
    "run": "run_cmd",
    "stats": "stats_cmd",
    **dict.fromkeys(("volume", "volumes"), "volume_cmds"),
    "watch": "watch_cmd",
}


def modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules to register for argv: the one defining its command when the global
    flags before it read plainly (as the fast `run` reads them), else all of them."""
    from compose.cli.fast_run import command_name

    module = COMMAND_MODULES.get(command_name(argv) or "")
    return (module,) if module is not None else MODULES


# A dict, not functools.cache: functools (with collections, ~1.5 ms) would load before the
# fast `run` starts the fork server.
_BUILT: "dict[tuple[str, ...], typer.Typer]" = {}


def build_app(modules: tuple[str, ...] = MODULES) -> "typer.Typer":
    """The app with these command modules registered (built once per tuple)."""
    if modules not in _BUILT:
        _BUILT[modules] = _build_app(modules)
    return _BUILT[modules]


def _build_app(modules: tuple[str, ...]) -> "typer.Typer":
    import importlib

    import typer

    from compose.cli.context import make_global_options
    from compose.cli.go_bool_flags import group_class

    app = typer.Typer(
        cls=group_class(),  # docker's `--flag=false` spellings
        add_completion=False,
        no_args_is_help=True,
        help="Define and run multi-container applications on pycompose's built-in engine.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def _print_version(value: bool) -> None:
        if value:
            from compose import labels as L

            print(f"Docker Compose version v{L.COMPOSE_VERSION}")
            raise typer.Exit()

    @app.callback()
    def root(
        ctx: typer.Context,
        file: list[str] = typer.Option(None, "-f", "--file", help="Compose configuration files"),
        project_name: str = typer.Option(None, "-p", "--project-name", help="Project name"),
        project_directory: str = typer.Option(
            None, "--project-directory", help="Alternate working directory"
        ),
        env_file: list[str] = typer.Option(
            None, "--env-file", help="Alternate environment files"
        ),
        profile: list[str] = typer.Option(None, "--profile", help="Profiles to enable"),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks for unexpected errors"),
        parallel: int = typer.Option(
            None, "--parallel", help="Control max parallelism, -1 for unlimited (default 8)"
        ),
        progress: str = typer.Option(
            None, "--progress", help="Set type of progress output (auto, tty, plain, json, quiet)"
        ),
        all_resources: bool = typer.Option(
            False, "--all-resources", help="Include all resources, even those not used by services"
        ),
        ansi: str = typer.Option(
            None, "--ansi",
            help='Control when to print ANSI control characters ("never"|"always"|"auto")',
        ),
        compatibility: bool = typer.Option(
            False, "--compatibility",
            help="Run compose in backward compatibility mode (project_service_1 container names)",
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run",
            help="Execute command in dry run mode: show what it would do, change nothing",
        ),
        no_ansi: bool = typer.Option(False, "--no-ansi", hidden=True),  # deprecated: --ansi
        workdir: str = typer.Option(None, "--workdir", hidden=True),  # deprecated
        version: bool = typer.Option(
            False, "-v", "--version", help="Show the Docker Compose version information",
            callback=_print_version, is_eager=True,
        ),
    ) -> None:
        ctx.obj = make_global_options(
            files=tuple(file or ()),
            project_name=project_name,
            project_directory=project_directory,
            env_files=tuple(env_file or ()),
            profiles=tuple(profile or ()),
            debug=debug,
            parallel=parallel,
            progress=progress,
            all_resources=all_resources,
            ansi=ansi,
            compatibility=compatibility,
            dry_run=dry_run,
            no_ansi=no_ansi,
            workdir=workdir,
        )
        if dry_run:
            import dataclasses

            from compose.cli.context import check_dry_run

            if not check_dry_run(ctx.invoked_subcommand):
                ctx.obj = dataclasses.replace(ctx.obj, dry_run=False)

    for module in modules:
        importlib.import_module(f"compose.cli.{module}").register(app)
    return app


def __getattr__(name: str) -> "Any":
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Commands that nearly always start containers: their fork server is started first thing.
STARTING_COMMANDS = frozenset(("up", "start", "restart"))
NOT_STARTING_FLAGS = frozenset(("-h", "--help", "--no-start", "--dry-run"))


def prewarm_for(argv: list[str]) -> None:
    """Start the supervisors' fork server before Typer and the project load when argv will
    almost surely start containers: its ~75 ms of imports then run on another core while this
    process does its own first ~100 ms, instead of after it. A guess that turns out wrong (all
    already running) costs only that other core's time: the server exits with this process."""
    from compose.cli.fast_run import command_name

    if command_name(argv) in STARTING_COMMANDS and NOT_STARTING_FLAGS.isdisjoint(argv):
        from engine import prewarm_supervisors

        prewarm_supervisors()


def main() -> None:
    try:
        import _signal

        _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # compose's: for imports
        _main()
    except KeyboardInterrupt:  # Ctrl-C before a command could take it (its first imports)
        sys.exit(130)  # quietly, as docker compose: a traceback here is no error of the user's


def _main() -> None:
    from compose.cli.fast_run import exit_now, fast_run

    code = fast_run(sys.argv[1:])
    if code is None:
        from compose.cli.fast_up import fast_up

        code = fast_up(sys.argv[1:])
    if code is None:
        from compose.cli.fast_down import fast_down

        code = fast_down(sys.argv[1:])
    if code is None:
        from compose.cli.fast_ps import fast_ps

        code = fast_ps(sys.argv[1:])
    if code is None:
        from compose.cli.fast_exec import fast_exec

        code = fast_exec(sys.argv[1:])
    if code is not None:
        exit_now(code)
    else:
        prewarm_for(sys.argv[1:])
        from engine import cache_dataclass_methods

        cache_dataclass_methods()
        from compose.cli.errors import run_app

        code = run_app(build_app(modules_for(sys.argv[1:])))
    sys.exit(code)
