"""`exec`: run a command in a service's running container; its exit code becomes ours."""

from __future__ import annotations

import typer

from compose.cli import service_exec
from compose.cli.context import global_options
from compose.cli.service_exec import ExecRequest


def exec_(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="Service name"),
    command: list[str] = typer.Argument(..., help="Command and arguments"),
    no_tty: bool = typer.Option(
        False,
        "-T",
        "--no-TTY",
        help="Disable pseudo-TTY allocation (default: a TTY when stdin and stdout are terminals)",
    ),
    detach: bool = typer.Option(False, "-d", "--detach", help="Run the command in the background"),
    privileged: bool = typer.Option(
        False, "--privileged", help="Give extended privileges (every capability) to the process"
    ),
    env: list[str] = typer.Option(None, "-e", "--env", help="Set environment variables"),
    workdir: str = typer.Option(None, "-w", "--workdir", help="Working directory in the container"),
    user: str = typer.Option(None, "-u", "--user", help="Run as this user (name or uid[:gid])"),
    index: int = typer.Option(1, "--index", help="Index of the container if scaled"),
    # docker compose's hidden -i/-t: on by default, accepted so `exec -it` works as with docker;
    # `--tty=false` is -T, `--interactive=false` an empty stdin (the negative spellings serve
    # compose.cli.go_bool_flags)
    interactive: bool = typer.Option(True, "-i", "--interactive/--no-interactive", hidden=True),
    tty: bool = typer.Option(True, "-t", "--tty/--no-tty", hidden=True),
) -> None:
    """Execute a command in a running container."""
    request = ExecRequest(
        service=service, command=tuple(command), no_tty=no_tty or not tty,
        interactive=interactive, detach=detach,
        privileged=privileged, env=tuple(env or ()), workdir=workdir, user=user, index=index,
    )
    raise typer.Exit(service_exec.execute(global_options(ctx), request))


def register(app: typer.Typer) -> None:
    app.command(
        "exec",
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    )(exec_)
