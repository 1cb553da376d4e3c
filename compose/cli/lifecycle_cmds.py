"""`up`, `down`, `create`, `start`, `stop`, `restart`, `kill`, `rm`: the commands that change
what runs. Heavy modules load inside the commands so that `--help` stays fast."""

from __future__ import annotations

import sys

import typer

from compose import labels as L
from compose.cli.context import global_options
from compose.cli.session import orchestrator, parallel
from compose.cli.startup import interruptible, parse_scale
from compose.errors import ComposeError


def up(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services to start"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Run containers in the background"),
    force_recreate: bool = typer.Option(
        False, "--force-recreate", help="Recreate containers even if nothing changed"
    ),
    no_recreate: bool = typer.Option(
        False, "--no-recreate", help="Don't recreate containers that exist"
    ),
    no_start: bool = typer.Option(False, "--no-start", help="Don't start the services"),
    no_deps: bool = typer.Option(False, "--no-deps", help="Don't start linked services"),
    remove_orphans: bool = typer.Option(
        False, "--remove-orphans", help="Remove containers for services not in the file"
    ),
    scale: list[str] = typer.Option(None, "--scale", help="SERVICE=NUM replicas"),
    wait: bool = typer.Option(False, "--wait", help="Wait for services to be running|healthy"),
    wait_timeout: float = typer.Option(None, "--wait-timeout", help="Seconds to wait"),
    abort_on_container_exit: bool = typer.Option(
        False, "--abort-on-container-exit", help="Stop all containers if any container stops"
    ),
    abort_on_container_failure: bool = typer.Option(
        False, "--abort-on-container-failure",
        help="Stop all containers if any container exited with failure",
    ),
    exit_code_from: str = typer.Option(
        None, "--exit-code-from", help="Return the exit code of this service's container"
    ),
    attach: list[str] = typer.Option(None, "--attach", help="Attach to these services only"),
    no_attach: list[str] = typer.Option(None, "--no-attach", help="Don't attach to these"),
    attach_dependencies: bool = typer.Option(
        False, "--attach-dependencies", help="Attach to the log output of dependencies too"
    ),
    timestamps: bool = typer.Option(False, "--timestamps", help="Show timestamps"),
    no_log_prefix: bool = typer.Option(False, "--no-log-prefix", help="No prefix in logs"),
    no_color: bool = typer.Option(False, "--no-color", help="Monochrome output"),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
    build: bool = typer.Option(False, "--build", help="Build images before starting"),
    pull: str = typer.Option(None, "--pull", help="always|missing|never: pull before running"),
    no_build: bool = typer.Option(False, "--no-build", help="Don't build images"),
    quiet_pull: bool = typer.Option(False, "--quiet-pull", help="Pull without printing progress"),
    renew_anon_volumes: bool = typer.Option(
        False, "-V", "--renew-anon-volumes",
        help="Recreate anonymous volumes instead of retrieving data from the previous containers",
    ),
    always_recreate_deps: bool = typer.Option(
        False, "--always-recreate-deps", help="Recreate dependent containers"
    ),
    watch: bool = typer.Option(
        False, "-w", "--watch",
        help="Watch source code and rebuild/refresh containers when files are updated",
    ),
    quiet_build: bool = typer.Option(False, "--quiet-build", help="Suppress the build output"),
    yes: bool = typer.Option(
        False, "-y", "--yes",
        help='Assume "yes" as answer to all prompts (up asks none: accepted for scripts)',
    ),
    menu: bool = typer.Option(
        False, "--menu", help="Accepted for docker compose's scripts; no shortcut menu is shown"
    ),
) -> None:
    """Create and start containers."""
    from compose.cli import startup

    request = startup.UpRequest(
        services=tuple(services or ()),
        detach=detach,
        force_recreate=force_recreate,
        no_recreate=no_recreate,
        no_start=no_start,
        no_deps=no_deps,
        remove_orphans=remove_orphans,
        scale=tuple(scale or ()),
        wait=wait,
        wait_timeout=wait_timeout,
        abort_on_container_exit=abort_on_container_exit,
        abort_on_container_failure=abort_on_container_failure,
        exit_code_from=exit_code_from,
        attach=tuple(attach or ()),
        no_attach=tuple(no_attach or ()),
        attach_dependencies=attach_dependencies,
        timestamps=timestamps,
        no_log_prefix=no_log_prefix,
        no_color=no_color,
        timeout=timeout,
        build=build,
        pull=pull,
        no_build=no_build,
        quiet_pull=quiet_pull,
        renew_anon_volumes=renew_anon_volumes,
        always_recreate_deps=always_recreate_deps,
        watch=watch,
        quiet_build=quiet_build,
        yes=yes,
        menu=menu,
    )
    raise typer.Exit(startup.execute(global_options(ctx), request))


def create(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    force_recreate: bool = typer.Option(False, "--force-recreate"),
    no_recreate: bool = typer.Option(False, "--no-recreate"),
    remove_orphans: bool = typer.Option(False, "--remove-orphans"),
    scale: list[str] = typer.Option(None, "--scale", help="SERVICE=NUM replicas"),
    build: bool = typer.Option(False, "--build", help="Build images before creating"),
    no_build: bool = typer.Option(False, "--no-build", help="Don't build images"),
    pull: str = typer.Option(None, "--pull", help="always|missing|never: pull before creating"),
    quiet_pull: bool = typer.Option(False, "--quiet-pull", help="Pull without printing progress"),
    yes: bool = typer.Option(
        False, "-y", "--yes",
        help='Assume "yes" as answer to all prompts (create asks none: accepted for scripts)',
    ),
) -> None:
    """Creates containers for a service."""
    del yes  # nothing to confirm: pycompose's create never prompts
    from compose.orchestrator import UpOptions

    if force_recreate and no_recreate:
        raise ComposeError("--force-recreate and --no-recreate are incompatible")
    if build and no_build:
        raise ComposeError("--build and --no-build are incompatible")
    orch = orchestrator(ctx)
    orch.image_report = lambda line: print(line, file=sys.stderr)  # build/pull output
    orch.create(
        UpOptions(
            services=tuple(services or ()),
            force_recreate=force_recreate,
            no_recreate=no_recreate,
            remove_orphans=remove_orphans,
            scale=parse_scale(scale),
            parallel=parallel(ctx),
            build=build,
            no_build=no_build,
            pull=pull,
            quiet_pull=quiet_pull,
        )
    )


def down(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Only these services' containers"),
    volumes: bool = typer.Option(False, "-v", "--volumes", help="Remove named volumes"),
    remove_orphans: bool = typer.Option(False, "--remove-orphans"),
    rmi: str = typer.Option(None, "--rmi", help="Remove images used by services: local|all"),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
) -> None:
    """Stop and remove containers, networks (and with -v, volumes)."""
    from compose.cli import teardown

    teardown.execute(
        global_options(ctx),
        teardown.DownRequest(
            volumes=volumes, remove_orphans=remove_orphans, rmi=rmi, timeout=timeout,
            services=tuple(services or ()),
        ),
    )


def stop(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
) -> None:
    """Stop services."""
    orch = orchestrator(ctx, allow_missing_file=True, title="Stopping")
    orch.stop(tuple(services or ()), timeout, parallel(ctx))


def start(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    wait: bool = typer.Option(False, "--wait", help="Wait for services to be running|healthy"),
    wait_timeout: float = typer.Option(
        None, "--wait-timeout", help="Maximum seconds to wait for running|healthy"
    ),
) -> None:
    """Start existing containers."""
    orch = orchestrator(ctx, title="Starting")
    chosen = tuple(services or ())
    orch.check_services(chosen)
    made = {c.labels.get(L.SERVICE) for c in orch.containers(chosen)}
    for name in chosen or tuple(sorted(orch.project.services)):
        service = orch.project.services.get(name)
        if service is not None and service.scale > 0 and name not in made:
            # docker compose: `start` only starts what `up`/`create` made
            raise ComposeError(
                f'service "{name}" has no container to start',
                hint="create it first with `pycompose up` or `pycompose create`",
            )
    with interruptible() as cancel:
        orch.start(chosen, parallel(ctx), cancel, wait_timeout if wait else None)
        if wait:  # as `up --wait`: running, and healthy where a healthcheck says
            orch.wait_running(chosen, wait_timeout, cancel)


def restart(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    timeout: float = typer.Option(None, "-t", "--timeout", help="Shutdown timeout in seconds"),
    no_deps: bool = typer.Option(False, "--no-deps", help="Don't restart dependent services"),
) -> None:
    """Restart service containers (and, unless --no-deps, those depending on them with
    `restart: true`, like docker compose)."""
    orchestrator(ctx, title="Restarting").restart(
        tuple(services or ()), timeout, no_deps=no_deps, parallel=parallel(ctx)
    )


def kill(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    sig: str = typer.Option("SIGKILL", "-s", "--signal", help="Signal to send"),
    remove_orphans: bool = typer.Option(False, "--remove-orphans"),
) -> None:
    """Force stop service containers."""
    orch = orchestrator(ctx, allow_missing_file=True, title="Killing")
    if remove_orphans:
        for info in orch.orphans():
            orch.engine.remove_container(info.id, force=True)
    orch.kill(tuple(services or ()), sig)


def rm(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    force: bool = typer.Option(False, "-f", "--force", help="Don't ask to confirm removal"),
    stop_first: bool = typer.Option(False, "-s", "--stop", help="Stop containers first"),
    volumes: bool = typer.Option(False, "-v", "--volumes", help="Remove anonymous volumes"),
) -> None:
    """Removes stopped service containers."""
    from engine.api import ContainerStatus

    orch = orchestrator(ctx, allow_missing_file=True, title="Removing")
    chosen = tuple(services or ())
    orch.check_services(chosen)
    candidates = orch.containers(chosen)
    if not stop_first:
        candidates = [c for c in candidates if c.status is not ContainerStatus.RUNNING]
    if not candidates:
        print("No stopped containers", file=sys.stderr)
        return
    if not force:
        names = ", ".join(c.name for c in candidates)
        if not sys.stdin.isatty():
            raise ComposeError(
                f"refusing to remove {names} without confirmation", hint="pass -f to remove"
            )
        if not typer.confirm(f"Going to remove {names}\nAre you sure?", default=False):
            return
    orch.remove(chosen, stop=stop_first, volumes=volumes)


def scale(
    ctx: typer.Context,
    pairs: list[str] = typer.Argument(..., help="SERVICE=REPLICAS"),
    no_deps: bool = typer.Option(False, "--no-deps", help="Don't start linked services"),
) -> None:
    """Scale services (as `up -d --scale`, for the services named)."""
    from compose.orchestrator import UpOptions

    counts = parse_scale(pairs)
    orch = orchestrator(ctx)
    with interruptible() as cancel:
        orch.up(
            UpOptions(
                services=tuple(name for name, _ in counts),
                scale=counts,
                no_deps=no_deps,
                parallel=parallel(ctx),
            ),
            cancel,
        )


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(scale)
    app.command()(down)
    app.command()(create)
    app.command()(stop)
    app.command()(start)
    app.command()(restart)
    app.command()(kill)
    app.command()(rm)
