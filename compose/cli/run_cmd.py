"""`run` as a Typer command: help, usage errors and every unusual spelling of the flags.

The body lives in compose.cli.oneoff; the common spellings skip Typer altogether through
compose.cli.fast_run, which must accept exactly these options (a unit test compares them).
"""

from __future__ import annotations

import typer

from compose.cli.context import global_options
from compose.cli.oneoff import RunRequest, execute


def run(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="Service name"),
    command: list[str] = typer.Argument(None, help="Command and arguments"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Run in the background"),
    name: str = typer.Option(None, "--name", help="Assign a name to the container"),
    rm: bool = typer.Option(False, "--rm", help="Remove the container when it exits"),
    env: list[str] = typer.Option(None, "-e", "--env", help="Set environment variables"),
    env_from_file: list[str] = typer.Option(
        None, "--env-from-file", help="Set environment variables from a file"
    ),
    volume: list[str] = typer.Option(None, "-v", "--volume", help="Bind mount a volume"),
    entrypoint: str = typer.Option(None, "--entrypoint", help="Override the entrypoint"),
    workdir: str = typer.Option(None, "-w", "--workdir", help="Working directory inside"),
    user: str = typer.Option(None, "-u", "--user", help="Run as this user"),
    no_deps: bool = typer.Option(False, "--no-deps", help="Don't start linked services"),
    no_tty: bool = typer.Option(
        False, "-T", "--no-TTY",
        help="Disable pseudo-TTY allocation (default: a TTY when stdout is a terminal and stdin"
        " is one or -i is given)",
    ),
    tty: bool | None = typer.Option(
        None, "-t", "--tty/--no-tty",
        help="Allocate a pseudo-TTY, even when stdout is not a terminal (--tty=false: as -T)",
    ),
    interactive: bool | None = typer.Option(
        None, "-i", "--interactive/--no-interactive",
        help="Keep STDIN open even if not attached (default: on)",
    ),
    label: list[str] = typer.Option(None, "-l", "--label", help="Add or override a label"),
    publish: list[str] = typer.Option(None, "-p", "--publish", help="Publish a port"),
    service_ports: bool = typer.Option(
        False, "-P", "--service-ports", help="Publish the service's ports (dropped by default)"
    ),
    cap_add: list[str] = typer.Option(None, "--cap-add", help="Add Linux capabilities"),
    cap_drop: list[str] = typer.Option(None, "--cap-drop", help="Drop Linux capabilities"),
    build: bool = typer.Option(False, "--build", help="Build the image before starting"),
    pull: str = typer.Option(None, "--pull", help="always|missing|never: pull before running"),
    quiet_pull: bool = typer.Option(False, "--quiet-pull", help="Pull without printing progress"),
    quiet_build: bool = typer.Option(
        False, "--quiet-build", help="Suppress progress output from the build process"
    ),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="No progress, pull or build output (the command's shows)"
    ),
    use_aliases: bool = typer.Option(
        False, "--use-aliases", help="Answer to the service's name and aliases on its networks"
    ),
    remove_orphans: bool = typer.Option(
        False, "--remove-orphans", help="Remove containers for services not in the file"
    ),
) -> None:
    """Run a one-off command on a service."""
    request = RunRequest(
        service=service,
        command=tuple(command or ()),
        detach=detach,
        name=name,
        rm=rm,
        env=tuple(env or ()),
        env_from_file=tuple(env_from_file or ()),
        volumes=tuple(volume or ()),
        entrypoint=entrypoint,
        workdir=workdir,
        user=user,
        no_deps=no_deps,
        labels=tuple(label or ()),
        publish=tuple(publish or ()),
        service_ports=service_ports,
        interactive=interactive,
        no_tty=no_tty or tty is False,  # docker's --tty=false
        tty=bool(tty),
        cap_add=tuple(cap_add or ()),
        cap_drop=tuple(cap_drop or ()),
        build=build,
        pull=pull,
        quiet_pull=quiet_pull,
        quiet_build=quiet_build,
        quiet=quiet,
        use_aliases=use_aliases,
        remove_orphans=remove_orphans,
    )
    raise typer.Exit(execute(global_options(ctx), request))


def register(app: typer.Typer) -> None:
    # everything after SERVICE is the command, options included (`run web sh -c 'echo hi'`)
    app.command(context_settings={"allow_interspersed_args": False})(run)
