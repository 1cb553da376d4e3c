"""The Typer application: global flags, sub-command registration, and the one error table.

The app is built on first use (`app` below is a lazy module attribute): `main` first offers
argv to the fast `run` path (compose.cli.fast_run), which needs neither Typer nor the other
commands' modules, and only builds the app when that path declines.
"""

# No `from __future__ import annotations` here: Typer reads the callback's annotations, and
# `typer` is only a local name of build_app, so they must be evaluated where they are written.
import functools
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


@functools.cache
def build_app() -> "typer.Typer":
    import typer

    from compose.cli import (
        build_cmds,
        config_cmd,
        container_cmds,
        cp_cmd,
        exec_cmd,
        image_cmds,
        lifecycle_cmds,
        misc_cmds,
        pause_cmds,
        port_cmd,
        query_cmds,
        run_cmd,
        volume_cmds,
    )
    from compose.cli.context import make_global_options

    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        help="Define and run multi-container applications on pycompose's built-in engine.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

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
        )

    config_cmd.register(app)
    lifecycle_cmds.register(app)
    query_cmds.register(app)
    image_cmds.register(app)
    port_cmd.register(app)
    exec_cmd.register(app)
    build_cmds.register(app)
    pause_cmds.register(app)
    volume_cmds.register(app)
    container_cmds.register(app)
    cp_cmd.register(app)
    misc_cmds.register(app)
    run_cmd.register(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    from compose.cli.fast_run import fast_run

    code = fast_run(sys.argv[1:])
    if code is None:
        from compose.cli.errors import run_app

        code = run_app(build_app())
    sys.exit(code)
