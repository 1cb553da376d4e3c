"""`watch [SERVICE...]`: up the services, then keep their containers in step with the host
files their `develop.watch` rules name, until Ctrl-C or SIGTERM (the containers keep running,
as after docker compose's `watch`). `up --watch` runs the same session beside the attached
log output (compose.cli.startup)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

import typer

from compose.cli.context import GlobalOptions, global_options

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from compose.orchestrator import Orchestrator
    from compose.watch import WatchOptions, WatchSession


def say(line: str) -> None:
    print(line, flush=True)


def warn(line: str) -> None:
    print(f"WARN[0000] {line}", file=sys.stderr, flush=True)


def open_session(orch: Orchestrator, options: WatchOptions) -> WatchSession:
    """The session for these services, on an orchestrator of its own that reports nothing
    (the watch prints its own lines, as compose's; build output still goes to stderr unless
    --quiet). Refused before anything starts when no service has rules, or a rebuild rule's
    service has nothing to build."""
    from compose.orchestrator import Orchestrator
    from compose.watch import WatchSession

    own = Orchestrator(orch.engine, orch.project, lambda _event: None)
    if not options.quiet:
        own.image_report = lambda line: print(line, file=sys.stderr)
    return WatchSession(own, options, say, warn)


def run_in_background(session: WatchSession) -> tuple[threading.Thread, threading.Event]:
    """`up --watch`: the watch beside the attached log output; set the event to end it."""
    stop = threading.Event()

    def work() -> None:
        from compose.errors import ComposeError

        try:
            session.initial_sync()
            session.run(stop)
        except ComposeError as exc:  # the log output goes on; the watch says why it ended
            warn(exc.message)

    thread = threading.Thread(target=work, name="watch", daemon=True)
    thread.start()
    return thread, stop


@contextlib.contextmanager
def stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the watch cleanly (the batch being applied finishes first); a
    second Ctrl-C interrupts even that."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    for sig in previous:
        signal.signal(sig, request_stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def execute(flags: GlobalOptions, options: WatchOptions, no_up: bool) -> int:
    from compose.cli.session import load_with, open_progress
    from compose.cli.startup import interruptible
    from compose.orchestrator import Orchestrator, UpOptions
    from compose.scheduler import parallel_limit
    from engine.api import Engine

    project = load_with(flags)
    view = open_progress(flags)
    orch = Orchestrator(Engine(), project, view)
    if not options.quiet:
        orch.image_report = lambda line: print(line, file=sys.stderr)  # build output
    try:
        session = open_session(orch, options)  # its errors before anything starts
        if not no_up:
            with interruptible() as cancel:
                orch.up(
                    UpOptions(services=options.services, build=True,
                              parallel=parallel_limit(flags.parallel), quiet_pull=options.quiet),
                    cancel,
                )
    finally:
        view.close()
    stop = threading.Event()
    with stopped_by_signals(stop):
        session.initial_sync()
        session.run(stop)
    return 0


def watch(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services to watch"),
    no_up: bool = typer.Option(
        False, "--no-up", help="Do not build & start services before watching"
    ),
    prune: bool = typer.Option(
        True, "--prune/--no-prune", help="Prune dangling images on rebuild"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="hide build output"),
) -> None:
    """Watch build context for service and rebuild/refresh containers when files are
    updated."""
    from compose.watch import WatchOptions

    options = WatchOptions(services=tuple(services or ()), prune=prune, quiet=quiet)
    raise typer.Exit(execute(global_options(ctx), options, no_up))


def register(app: typer.Typer) -> None:
    app.command()(watch)
