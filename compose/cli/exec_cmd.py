"""`exec`: run a command in a service's running container; its exit code becomes ours."""

from __future__ import annotations

import os
import signal
import sys

import typer

from compose import labels as L
from compose.cli.oneoff import env_flags
from compose.cli.terminal import raw_terminal
from compose.errors import ComposeError


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
    # docker compose's hidden -i/-t: on by default, accepted so `exec -it` works as with docker
    interactive: bool = typer.Option(True, "-i", "--interactive", hidden=True),
    tty: bool = typer.Option(True, "-t", "--tty", hidden=True),
) -> None:
    """Execute a command in a running container."""
    del interactive, tty
    from compose.cli.session import orchestrator
    from engine.api import ContainerStatus, ExecError

    orch = orchestrator(ctx, quiet=True)
    orch.check_services((service,))
    running = [
        c
        for c in orch.containers((service,))
        if c.status is ContainerStatus.RUNNING and c.labels.get(L.NUMBER) == str(index)
    ]
    if not running:
        which = f" container #{index}" if index != 1 else ""
        raise ComposeError(f'service "{service}" is not running{which}')
    overrides = env_flags(env or [])
    if detach:
        try:
            orch.engine.exec_detached(
                running[0].id, command, env=overrides, workdir=workdir, user=user,
                privileged=privileged,
            )
        except ExecError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from exc
        return
    # Ctrl-C reaches the whole foreground process group, the exec'd process included: let it
    # decide, and report its real exit status (130 if SIGINT killed it).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    use_tty = not no_tty and os.isatty(0) and os.isatty(1)
    try:
        sys.stdout.flush()
        with raw_terminal(use_tty):
            code = orch.engine.exec_attached(
                running[0].id, command, env=overrides, workdir=workdir, user=user, tty=use_tty,
                privileged=privileged,
            )
    except ExecError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from exc
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(
        "exec",
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    )(exec_)
