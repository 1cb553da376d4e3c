"""`up` as a plain function of the global flags and its own options, without Typer: the Typer
command (compose.cli.lifecycle_cmds) and the fast path (compose.cli.fast_up) both call
`execute`, so the two cannot drift apart (as compose.cli.teardown does for `down`)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from compose.cli.context import GlobalOptions
from compose.cli.interrupts import sigterm_as_ctrl_c
from compose.errors import ComposeError

WATCH_STOP_SECONDS = 10.0  # `up --watch` ending: how long a batch being applied may finish


@dataclass(frozen=True)
class UpRequest:
    """`up`'s own flags as given (--scale not yet checked): the one input the Typer command and
    the fast path both hand to `execute`."""

    services: tuple[str, ...] = ()
    detach: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    no_start: bool = False
    no_deps: bool = False
    remove_orphans: bool = False
    scale: tuple[str, ...] = ()
    wait: bool = False
    wait_timeout: float | None = None
    abort_on_container_exit: bool = False
    abort_on_container_failure: bool = False
    exit_code_from: str | None = None
    attach: tuple[str, ...] = ()
    no_attach: tuple[str, ...] = ()
    attach_dependencies: bool = False
    timestamps: bool = False
    no_log_prefix: bool = False
    no_color: bool = False
    timeout: float | None = None
    build: bool = False
    pull: str | None = None
    no_build: bool = False
    quiet_pull: bool = False
    quiet_build: bool = False  # --quiet-build: no build output
    renew_anon_volumes: bool = False
    always_recreate_deps: bool = False
    watch: bool = False  # -w/--watch: attached, and the services' develop.watch rules followed
    # -y/--yes: docker compose's answer to its prompts; pycompose's `up` asks nothing.
    yes: bool = False
    # --menu: docker compose's keyboard shortcuts when attached; accepted, none are shown.
    menu: bool = False


def parse_scale(values: Iterable[str] | None) -> tuple[tuple[str, int], ...]:
    """`--scale SERVICE=NUM` values as (service, replicas) pairs (`up` and `create`)."""
    pairs = []
    for value in values or ():
        name, sep, count = value.partition("=")
        if not sep or not name or not count.strip().lstrip("-").isdigit():
            raise ComposeError(f"invalid --scale value {value!r}: expected SERVICE=NUM")
        pairs.append((name, int(count)))
    return tuple(pairs)


@contextlib.contextmanager
def interruptible() -> Iterator[threading.Event]:
    """SIGTERM behaves like Ctrl-C while containers are being made: the scheduler starts
    nothing more, lets in-flight engine calls finish, and the command exits 130. What was
    made stays consistent: running `up` again converges, `down` removes it."""
    with sigterm_as_ctrl_c():
        yield threading.Event()


def _print_hook_line(source: str, line: str) -> None:
    """A lifecycle hook's output in an attached `up`, as docker compose prints it."""
    print(f"{source} -> | {line}", flush=True)


def checked(request: UpRequest) -> UpRequest:
    """docker compose's flag rules (cmd/compose/up.go validateFlags), in its words:
    `--exit-code-from` implies `--abort-on-container-exit`, `--wait` implies `-d`."""
    if request.exit_code_from and not request.abort_on_container_failure:
        request = replace(request, abort_on_container_exit=True)
    if request.abort_on_container_exit and request.abort_on_container_failure:
        raise ComposeError(
            "--abort-on-container-failure cannot be combined with --abort-on-container-exit"
        )
    if request.wait:
        if request.attach_dependencies or request.abort_on_container_exit or request.attach:
            raise ComposeError(
                "--wait cannot be combined with --abort-on-container-exit, --attach or "
                "--attach-dependencies"
            )
        request = replace(request, detach=True)
    if request.build and request.no_build:
        raise ComposeError("--build and --no-build are incompatible")
    if request.detach and (
        request.attach_dependencies or request.abort_on_container_exit
        or request.abort_on_container_failure or request.attach or request.watch
    ):
        raise ComposeError(
            "--detach cannot be combined with --abort-on-container-exit, "
            "--abort-on-container-failure, --attach, --attach-dependencies or --watch"
        )
    if request.renew_anon_volumes and request.no_recreate:
        raise ComposeError("--no-recreate and --renew-anon-volumes are incompatible")
    if request.force_recreate and request.no_recreate:
        raise ComposeError("--force-recreate and --no-recreate are incompatible")
    if request.always_recreate_deps and request.no_recreate:
        raise ComposeError("--always-recreate-deps and --no-recreate are incompatible")
    if request.no_build and request.watch:
        raise ComposeError("--no-build and --watch are incompatible")
    if request.attach and request.attach_dependencies:
        raise ComposeError("cannot combine --attach and --attach-dependencies")
    return request


def execute(flags: GlobalOptions, request: UpRequest) -> int:
    """Create and start the services' containers; attached (no -d, --no-start or --wait), follow
    their output and return the exit code `attach` decides."""
    from compose.cli.attach import AttachOptions, attached_services, interrupted_stop
    from compose.cli.attach import attach as follow
    from compose.cli.session import close_progress, engine_for, load_with, open_progress
    from compose.orchestrator import Orchestrator, UpOptions
    from compose.scheduler import parallel_limit

    request = checked(request)
    project = load_with(flags)
    began = time.time()  # output from here on is this run's (AttachOptions.since)
    view = open_progress(flags)
    try:
        orch = Orchestrator(engine_for(flags), project, view)
        orch.image_report = lambda line: print(line, file=sys.stderr)  # build/pull output
        orch.all_resources = flags.all_resources
        if request.exit_code_from:
            orch.check_services((request.exit_code_from,))
        # --dry-run: nothing runs to follow (docker compose's dry run ends once it has shown
        # what it would start)
        attached = not (request.detach or request.no_start or request.wait or flags.dry_run)
        session = None
        if request.watch and attached:
            from compose.cli.watch_cmd import open_session
            from compose.watch import WatchOptions

            session = open_session(orch, WatchOptions(services=request.services))
        options = AttachOptions(
            services=request.services,
            attach=request.attach,
            no_attach=request.no_attach,
            attach_dependencies=request.attach_dependencies,
            abort_on_container_exit=request.abort_on_container_exit,
            abort_on_container_failure=request.abort_on_container_failure,
            exit_code_from=request.exit_code_from,
            timeout=request.timeout,
            timestamps=request.timestamps,
            prefix=not request.no_log_prefix,
            color=False if request.no_color else flags.colors,
            progress=flags.progress,
            since=began,
        )
        if attached:  # a bad --attach fails before anything starts
            orch.attach_on_start = frozenset(attached_services(orch, options))
            orch.hook_output = _print_hook_line
        try:
            with interruptible() as cancel:
                orch.up(
                    UpOptions(
                        services=request.services,
                        force_recreate=request.force_recreate,
                        no_recreate=request.no_recreate,
                        no_start=request.no_start,
                        no_deps=request.no_deps,
                        remove_orphans=request.remove_orphans,
                        timeout=request.timeout,
                        scale=parse_scale(request.scale),
                        wait=request.wait,
                        wait_timeout=request.wait_timeout,
                        parallel=parallel_limit(flags.parallel),
                        build=request.build,
                        pull=request.pull,
                        no_build=request.no_build,
                        quiet_pull=request.quiet_pull,
                        quiet_build=request.quiet_build,
                        renew_anon_volumes=request.renew_anon_volumes,
                        always_recreate_deps=request.always_recreate_deps,
                    ),
                    cancel,
                )
        except KeyboardInterrupt:
            if not attached:
                raise  # `up -d`: what started stays, as docker compose's
            # Attached, docker compose stops the stack on Ctrl-C from the start, not only once
            # it follows the logs: what already started is stopped.
            close_progress(orch)
            interrupted_stop(orch, options)
            return 130
        close_progress(orch)
        if not attached:
            return 0
        if session is None:
            return follow(orch, options)
        from compose.cli.attach import WatchLink
        from compose.cli.watch_cmd import run_in_background

        watcher, stop_watching = run_in_background(session)
        link = WatchLink(
            active=lambda: watcher.is_alive(),
            subscribe=lambda joined: setattr(session, "recreated", joined),
        )
        try:
            return follow(orch, options, link)
        finally:
            stop_watching.set()
            watcher.join(timeout=WATCH_STOP_SECONDS)
    finally:
        view.close()
