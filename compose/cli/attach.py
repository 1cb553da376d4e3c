"""Attached `up`: follow the containers' logs until they exit, with docker compose's
`--abort-on-container-exit` / `--abort-on-container-failure` / `--exit-code-from` rules and
Ctrl-C to stop the stack."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from compose import labels as L
from compose.cli.log_printer import LogPrinter
from compose.cli.names import log_prefix
from compose.errors import ComposeError
from compose.model import DependencyCondition
from compose.orchestrator import Orchestrator
from engine.api import ContainerInfo, ContainerStatus, EngineError

POLL = 0.1


@dataclass(frozen=True)
class AttachOptions:
    """How an attached `up` follows logs and when it stops the stack (docker compose's
    --attach, --attach-dependencies, --abort-on-container-exit/-failure, --exit-code-from),
    gathered from the `up` flags."""

    services: tuple[str, ...] = ()  # what `up` was asked for (all when empty)
    attach: tuple[str, ...] = ()  # --attach: only these
    no_attach: tuple[str, ...] = ()  # --no-attach: all but these
    attach_dependencies: bool = False  # the named services' dependencies' logs too
    abort_on_container_exit: bool = False
    abort_on_container_failure: bool = False  # stop the stack on the first non-zero exit
    exit_code_from: str | None = None
    timeout: float | None = None
    timestamps: bool = False
    prefix: bool = True
    color: bool | None = None
    progress: str = "auto"  # the global --progress mode, for the stop view after Ctrl-C
    # When `up` began (Unix seconds): only output from then on is shown, as docker compose
    # attaches without the logs of earlier runs (a container's log keeps every run's lines).
    since: float | None = None


@dataclass(frozen=True)
class WatchLink:
    """`up --watch`: the output goes on while the watch runs (`active`), even once every
    container exited, and the containers a rebuild recreates join it (`subscribe` hands the
    watch the function to call with them)."""

    active: Callable[[], bool]
    subscribe: Callable[[Callable[[list[ContainerInfo]], None]], None]


def _one_shots(orch: Orchestrator) -> set[str]:
    """Services others wait on with service_completed_successfully: their exit is expected."""
    return {
        d.service
        for s in orch.project.services.values()
        for d in s.depends_on
        if d.condition is DependencyCondition.COMPLETED_SUCCESSFULLY
    }


def attached_services(orch: Orchestrator, options: AttachOptions) -> set[str]:
    """docker compose's choice: `--attach` as given; else the services `up` was asked for
    (all when none), with their dependencies under `--attach-dependencies`, less those whose
    `attach: false` opts out; then less `--no-attach`."""
    if options.attach:
        unknown = sorted(set(options.attach) - set(orch.project.services))
        if unknown:
            raise ComposeError(
                f"cannot attach to services not included in up: {', '.join(unknown)}"
            )
        chosen = set(options.attach)
    else:
        names = orch.service_names(options.services, with_deps=options.attach_dependencies)
        chosen = {n for n in names if orch.project.services[n].raw.get("attach") is not False}
    return chosen - set(options.no_attach)


def attached_containers(orch: Orchestrator, options: AttachOptions) -> list[ContainerInfo]:
    chosen = attached_services(orch, options)
    return [c for c in orch.containers() if c.labels.get(L.SERVICE) in chosen]


def _watched(
    orch: Orchestrator, options: AttachOptions, attached: list[ContainerInfo]
) -> list[ContainerInfo]:
    """Whose exit aborts: the services named on the command line, else the attached ones
    (docker compose's monitor), less those others wait on to complete."""
    infos = orch.containers(options.services) if options.services else attached
    expected = _one_shots(orch)
    return [c for c in infos if c.labels.get(L.SERVICE) not in expected]


class _Abort:
    """Watches containers; on the first exit (the first failure with
    `--abort-on-container-failure`), stops the stack. A poller (`watch`) and a last look
    when the logs end (`check`): a stack whose every attached container exited before the
    poller saw one still aborts with the right exit code (it returned 0 for a failed test)."""

    def __init__(self, orch: Orchestrator, infos: list[ContainerInfo], options: AttachOptions):
        self.orch, self.infos, self.options = orch, infos, options
        self.first: ContainerInfo | None = None
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def _aborts(self, current: ContainerInfo) -> bool:
        if current.status is ContainerStatus.RUNNING:
            return False
        return not self.options.abort_on_container_failure or bool(current.state.exit_code)

    def check(self) -> bool:
        """One look: the first container (by its finish) that ends the stack, if any; the
        stop happens once, whoever looks first, and a later look waits for it."""
        found = []
        for info in self.infos:
            try:
                current = self.orch.engine.inspect(info.id)
            except EngineError:  # removed meanwhile (a recreate by `up --watch`)
                continue
            if self._aborts(current):
                found.append(current)
        if not found:
            return False
        with self._lock:
            ours = self.first is None
            if ours:
                self.first = min(found, key=lambda c: c.state.finished_at or "")
        if not ours:
            self._stopped.wait()
            return True
        try:
            print("Aborting on container exit...", file=sys.stderr, flush=True)
            _stop_with_progress(self.orch, self.options)
        finally:
            self._stopped.set()
        return True

    def watch(self) -> None:
        while not self.done.wait(POLL):
            if self.check():
                return


def interrupted_stop(orch: Orchestrator, options: AttachOptions) -> None:
    """Ctrl-C (or SIGTERM) on an attached `up`: stop the stack; a second Ctrl-C forces."""
    print("Gracefully stopping... (press Ctrl+C again to force)", file=sys.stderr, flush=True)
    _force_on_second_interrupt(orch, options)
    _stop_with_progress(orch, options)


def _stop_printing_meanwhile(
    orch: Orchestrator, options: AttachOptions, printer: LogPrinter
) -> None:
    """Ctrl-C while following: stop the stack in the background and go on printing, so what
    the containers say as they shut down is seen; a second Ctrl-C ends us at once."""
    print("Gracefully stopping... (press Ctrl+C again to force)", file=sys.stderr, flush=True)
    _force_on_second_interrupt(orch, options)  # here: only the main thread may
    stopped = threading.Event()

    def stop() -> None:
        try:
            _stop_with_progress(orch, options)
        finally:
            stopped.set()

    threading.Thread(target=stop, daemon=True).start()
    lingering = [0.0]

    def give_up() -> bool:
        # Once stopped, the last lines are a log poll away; a stream still open 2 s later
        # belongs to a container that was not ours to stop.
        if not stopped.is_set():
            return False
        lingering[0] += 0.1
        return lingering[0] >= 2.0

    printer.run(give_up)
    stopped.wait()


def _force_on_second_interrupt(orch: Orchestrator, options: AttachOptions) -> None:
    """docker compose's "press Ctrl+C again to force": the second Ctrl-C kills the containers
    still in their grace period (killApplication) and ends us with 130; it only ended the CLI,
    leaving every container whose init ignores SIGTERM running with no `up` to stop it."""

    def force(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a third one ends us whatever happens
        with contextlib.suppress(ComposeError, EngineError):
            orch.kill(options.services)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)

    signal.signal(signal.SIGINT, force)


def _stop_with_progress(orch: Orchestrator, options: AttachOptions) -> None:
    """Stop the stack with a fresh progress view ("[+] Stopping 2/2"): the `up` one is closed."""
    from compose.progress import make_progress, progress_mode

    view = make_progress(progress_mode(options.progress), "Stopping")
    orch.report = view
    try:
        orch.stop(options.services, options.timeout)
    finally:
        view.close()


def _monitored_ended(
    orch: Orchestrator, options: AttachOptions, attached: list[ContainerInfo]
) -> Callable[[], bool] | None:
    """docker compose's monitor: an attached `up` ends once the services it was asked for
    (else the attached ones) have exited, though it still follows others (`--attach-
    dependencies`: a database that runs on). None when those are the followed streams."""
    monitored = orch.containers(options.services) if options.services else attached
    ids = {c.id for c in monitored}
    if ids == {c.id for c in attached} or not ids:
        return None

    def ended() -> bool:
        for container_id in ids:
            try:
                if orch.engine.inspect(container_id).status is ContainerStatus.RUNNING:
                    return False
            except EngineError:
                continue
        return True

    return ended


def attach(orch: Orchestrator, options: AttachOptions, watch: WatchLink | None = None) -> int:
    """Follow the logs; return the exit code `up` should end with."""
    infos = attached_containers(orch, options)
    since = None if options.since is None else f"{options.since:.9f}"
    streams = {log_prefix(c): orch.engine.logs(c.id, follow=True, since=since) for c in infos}
    by_prefix = {log_prefix(c): c for c in infos}
    print("Attaching to " + ", ".join(streams), file=sys.stderr, flush=True)
    abort = None
    if options.abort_on_container_exit or options.abort_on_container_failure or (
        options.exit_code_from
    ):
        abort = _Abort(orch, _watched(orch, options, infos), options)
        threading.Thread(target=abort.watch, daemon=True).start()

    def ended(name: str) -> None:
        try:
            info = orch.engine.inspect(by_prefix[name].id)
        except EngineError:  # `up --watch`: recreated by a rebuild and removed meanwhile
            return
        if info.status is ContainerStatus.EXITED:
            print(f"{name} exited with code {info.state.exit_code}", flush=True)

    printer = LogPrinter(
        streams,
        prefix=options.prefix,
        color=options.color,
        timestamps=options.timestamps,
        on_end=ended,
    )
    linger = None
    if watch is not None:
        linger = watch.active

        def joined(new: list[ContainerInfo]) -> None:
            for info in new:
                if info.labels.get(L.SERVICE) in options.no_attach:
                    continue
                with contextlib.suppress(EngineError):  # Docker's `attach` event, as compose's
                    orch.engine.record_attach(info.id)  # monitor attaches to a new container
                by_prefix[log_prefix(info)] = info
                printer.add(log_prefix(info), orch.engine.logs(info.id, follow=True))

        watch.subscribe(joined)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        printer.run(give_up=_monitored_ended(orch, options, infos), linger=linger)
    except KeyboardInterrupt:
        _stop_printing_meanwhile(orch, options, printer)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if abort is not None:
            abort.done.set()
    if abort is not None and abort.first is None:
        abort.check()  # the last look, in case every stream ended before the poller's
    if options.exit_code_from:
        chosen = orch.containers((options.exit_code_from,))
        codes = [orch.engine.inspect(c.id).state.exit_code for c in chosen]
        return next((c for c in codes if c), 0) or 0
    if abort is not None and abort.first is not None:
        return abort.first.state.exit_code or 0
    return 0
