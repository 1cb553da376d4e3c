"""The per-container supervisor (like conmon): detached from the CLI, it starts the container,
owns its stdio and writes the log, reaps it, records the exit, and releases its network.

Run as `python -m engine.supervisor ROOT CONTAINER_ID REPORT_FD`. It reports "OK <pid>" or
"ERR <reason>" on REPORT_FD once, so the CLI that started it knows the outcome and may exit.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine import ports, runtime
from engine import syscalls as sc
from engine.cgroups import container_cgroup
from engine.containers import (
    ContainerRecord,
    ContainerState,
    ContainerStatus,
    ContainerStore,
    now_rfc3339,
)
from engine.dns_control import ensure_resolver, nudge_resolver
from engine.errors import EngineError, StartClaimedError, error_text
from engine.forked_call import call_forked
from engine.hosts import write_hosts
from engine.layout import Layout
from engine.log_writer import LogWriter
from engine.processes import is_alive, start_time, wait_exit_code
from engine.restart_policy import Backoff, should_restart
from engine.runtime_spec import RuntimeSpec
from engine.served_start import first_start_served
from engine.supervisor_launch import (
    FirstStart,
    Handoff,
    HelperDied,
    LogTarget,
    can_start_in_helper,
    first_start_in_helper,
    start_in_helper,
)
from netdriver.api import NetworkDriver, PortRule

TYPE_CHECKING = False  # `typing` costs every supervisor its import


if TYPE_CHECKING:
    from engine.console_client import ConsoleClient
    from engine.tty_input import TtyInput

    FirstStarter = Callable[[], FirstStart | None]


class Supervisor:
    def __init__(self, layout: Layout, container_id: str) -> None:
        self.layout = layout
        self.container_id = container_id
        self.store = ContainerStore(layout)
        self.spec = RuntimeSpec.load(layout.container_dir(container_id) / "runtime.json")
        self.cgroup = container_cgroup(container_id, self.spec.cgroup_parent)
        self.driver = NetworkDriver(layout.networks)
        self.attached: list[str] = []
        self.addresses: dict[str, str] = {}
        self.port_reservations = ports.PortReservations()
        # Ours, also in the start-up helper (engine.supervisor_launch): records name this process.
        self.pid = os.getpid()

    def _wire_network(self, netns: str) -> None:
        """Connect the container's netns. The netlink, firewall and resolver work runs in a
        throwaway process: done here it would leave megabytes of private copies of the
        zygote's pages in this long-lived process. That is the start-up helper when the start
        runs in one (engine.supervisor_launch), else a child of its own (engine.forked_call).
        Only what must live as long as the container stays here: the host-port reservations
        (bound sockets). The runtime brings lo up itself, so other modes (`none`, `host`,
        another container's) need nothing."""
        if self.spec.network_mode != "bridge":
            return
        published: list[ports.PublishedPort] = []
        if self.spec.ports and self.spec.networks:
            labels = self.store.load(self.container_id).spec.labels
            service = labels.get("com.docker.compose.service")
            published = self.port_reservations.reserve(
                self.spec.ports, f"service {service}" if service else "container"
            )
        # From here every requested network counts as attached: detach is idempotent, so a
        # failure half-way (or a helper that died) is undone whatever it got to.
        self.attached = [request.network for request in self.spec.networks]
        owner_pid = self.pid
        if os.getpid() != self.pid:
            # Already in a throwaway child (the start-up helper, engine.supervisor_launch):
            # its copied pages die with it, so a second fork would only cost time.
            self.addresses = self._attach(netns, owner_pid, published)
        else:
            self.addresses = dict(call_forked(lambda: self._attach(netns, owner_pid, published)))
        if published:
            self.store.update_state(self.container_id, ports=tuple(published))

    def _attach(
        self, netns: str, owner_pid: int, published: list[ports.PublishedPort]
    ) -> dict[str, str]:
        """In a throwaway process: veths, /etc/hosts, the resolver, port forwarding rules; the
        default route through the network Docker would pick (engine.default_gateway)."""
        from engine.default_gateway import gateway_index

        routed = gateway_index(
            self.spec.networks, lambda name: self.driver.get_network(name).internal
        )
        endpoints = [
            self.driver.attach(
                request.network,
                self.container_id,
                netns,
                ifname=f"eth{index}",
                names=request.names,
                ipv4=request.ipv4,
                owner_pid=owner_pid,
                default_route=index == routed,
                ipv6=request.ipv6,
                mac=request.mac,
            )
            for index, request in enumerate(self.spec.networks)
        ]
        write_hosts(self.layout, self.container_id, endpoints)
        ensure_resolver(
            self.layout, [self.driver.get_network(e.network).gateway for e in endpoints]
        )
        if published:  # to the gateway endpoint, which alone has Docker's port mappings
            target = endpoints[routed if routed is not None else 0].ipv4
            self.driver.publish_ports(self.container_id, [
                PortRule(p.protocol, p.host_ip, p.host_port, target, p.target)
                for p in published
            ])
        return {endpoint.network: endpoint.ipv4 for endpoint in endpoints}

    def _detach(self, networks: list[str], forwarded: bool) -> None:
        """Undo `_attach`, best effort (liveness prunes what is left): in a throwaway child,
        or in this process when it exits right after (see `_release`)."""
        if forwarded:
            with contextlib.suppress(Exception):
                self.driver.unpublish_ports(self.container_id)
        for network in networks:
            with contextlib.suppress(Exception):
                self.driver.detach(network, self.container_id)
        if networks:
            nudge_resolver(self.layout)

    def _release(self, final: bool = False) -> None:
        """This run of the container is over: give back its network, ports, cgroup, volumes.

        ``final``: this process exits right after (no restart follows), so the network is
        detached here rather than in a throwaway child: the pages it copies die with us a
        moment later anyway, and the fork (~2.5 ms of CPU per container) is saved."""
        forwarded = self._forwards_ports()
        networks = list(self.attached)
        if final and (forwarded or networks):
            with contextlib.suppress(Exception):
                self._detach(networks, forwarded)
        elif forwarded or networks:
            with contextlib.suppress(Exception):
                call_forked(lambda: self._detach(networks, forwarded))
        if forwarded and not final:  # a final release's caller records the exit next, ports=()
            with contextlib.suppress(Exception):
                self.store.update_state(self.container_id, ports=())
        self.port_reservations.close()
        self.attached = []
        self.cgroup.remove()
        runtime.release(self.spec)  # volumes with driver_opts: the last user unmounts

    def _forwards_ports(self) -> bool:
        """Published ports on a bridge: forwarding rules and a `ports` record to undo."""
        return bool(self.spec.ports) and self.spec.network_mode == "bridge"

    def create_cgroup(self) -> None:
        limits = self.spec.resources
        if limits.memory_bytes is None and limits.pids is None:
            limits = replace(limits, memory_bytes=self.spec.memory_limit, pids=self.spec.pids_limit)
        self.cgroup.create(limits)

    def claim_start(self) -> None:
        """Own the start before making anything (ContainerStore.claim_start): a supervisor
        that loses to another's start raises StartClaimedError and must undo nothing."""
        self.store.claim_start(
            self.container_id, self.pid, start_time(self.pid), self._release_dead_owner
        )

    def _release_dead_owner(self, dead: ContainerState) -> None:
        """What the container's previous supervisor left when it died unobserved (rare: the
        caller releases it when it looks first, engine.api `_observe`)."""
        from engine.leftovers import release_leftovers

        release_leftovers(self.layout, self.driver, self.store.load(self.container_id), dead)

    def owns_start(self) -> bool:
        """Whether what the container's start made may be this supervisor's: no other live
        supervisor starts or runs it."""
        state = self.store.load_state(self.container_id)
        owned = state.starting or state.status.active
        if not owned or state.supervisor_pid == self.pid:
            return True
        return not is_alive(state.supervisor_pid, state.supervisor_start)

    def start(self) -> runtime.StartedProcess:
        self.claim_start()
        self.create_cgroup()
        try:
            return runtime.start(self.spec, self.cgroup, self._wire_network)
        except BaseException:
            self._release()
            raise

    def prepare_start(self) -> int:
        """The host-side half of a first start, done by the start server (engine.start_server):
        the cgroup and the network namespace, wired; the namespace's descriptor (-1: the
        container has none of its own). A failure has undone its own work."""
        self.claim_start()
        self.create_cgroup()
        try:
            if not runtime.namespace_flags(self.spec) & sc.CLONE_NEWNET:
                return -1
            return runtime.make_network_namespace(self._wire_network)
        except BaseException:
            self.undo_start()
            raise

    def undo_start(self) -> None:
        """Give back what `prepare_start` made, in this process: the start server runs threads,
        and a fork (what `_release` does for a run that goes on) is unsafe there."""
        with contextlib.suppress(Exception):
            self._release(final=True)
        if self._forwards_ports():
            with contextlib.suppress(Exception):
                self.store.update_state(self.container_id, ports=())

    def record_running(self, init_pid: int) -> None:
        """The first run's "running" record, for a supervisor that forked init itself."""
        started = runtime.StartedProcess(init_pid, init_pid, -1, -1, stage1_resident=False)
        self._mark_running(started, stop_requested=False, remove_requested=False, restart_count=0)

    def pump(self, started: runtime.StartedProcess) -> int:
        """Copy stdout/stderr to the log until the container closes them, then reap it."""
        return pump_logs(started, LogTarget.of(self.spec))

    def _update(self, **changes: object) -> None:
        self.store.update_state(self.container_id, **changes)

    def _mark_running(self, started: runtime.StartedProcess, **extra: object) -> None:
        self._update(
            status=ContainerStatus.RUNNING,
            pid=started.init_pid,
            pid_start=start_time(started.init_pid),
            supervisor_pid=self.pid,
            supervisor_start=start_time(self.pid),
            starting=False,
            started_at=now_rfc3339(),
            finished_at=None,
            exit_code=None,
            error=None,
            oom_killed=False,
            paused=False,
            addresses=dict(self.addresses),
            # Docker: `starting` from the moment the container runs, until the first probe.
            health_status="starting" if self.spec.healthcheck else None,
            health_failing_streak=0,
            health_log=[],
            **extra,
        )

    def _run_once(self, started: runtime.StartedProcess) -> int:
        """Pump the logs (and probe health) until the container exits; its exit code."""
        monitor = None
        check = self.spec.healthcheck
        if check is not None:
            from engine.healthcheck import HealthMonitor

            monitor = HealthMonitor(
                self.store.load(self.container_id).name, self.spec, check, started.init_pid,
                start_time(started.init_pid), self.cgroup, self._update,
                lambda: self.store.load_state(self.container_id).paused,
            )
            monitor.start()
        exit_code = self.pump(started)
        if monitor is not None:
            monitor.stop()
        return exit_code

    def _auto_remove(self) -> None:
        """Docker's AutoRemove. An attached client (`run --rm`) removes the container itself
        once it has read the output; a child waits for that client to go instead of us, since
        the client waits for our exit: if it was killed, the child removes the container.
        Its anonymous volumes go with it, as Docker's AutoRemove removes them."""
        record = self.store.load(self.container_id)
        if self.store.remove_if_unattached(self.container_id):
            self._remove_anonymous_volumes(record)
            return
        with contextlib.suppress(OSError):
            if os.fork() == 0:
                try:
                    self.store.remove_if_unattached(self.container_id, wait=True)
                    self._remove_anonymous_volumes(record)
                finally:
                    os._exit(0)

    def _remove_anonymous_volumes(self, record: ContainerRecord) -> None:
        from engine.anonymous_volumes import remove_anonymous_volumes
        from engine.volumes import VolumeStore

        with contextlib.suppress(EngineError, OSError):  # best effort: the container is gone
            remove_anonymous_volumes(record, VolumeStore(self.layout), self.store)

    def _stop_requested(self) -> bool:
        return self.store.load_state(self.container_id).stop_requested

    def _wait_backoff(self, delay: float) -> bool:
        """Sleep before a restart, polling for a stop request; False if one came."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if self._stop_requested():
                return False
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
        return not self._stop_requested()

    def _launch(self, **extra: object) -> runtime.StartedProcess:
        """Start the container and record it running: in a throwaway child where possible, so
        the start's Python leaves no private copies of pages here (engine.supervisor_launch)."""

        if not can_start_in_helper(self.spec):
            return self.start_recorded(**extra).started
        try:
            handoff = start_in_helper(lambda: self.start_recorded(**extra))
        except HelperDied:
            # What the helper made is unknown: undo all of it (detach is idempotent).
            self.attached = [request.network for request in self.spec.networks]
            self._release()
            raise
        self.adopt(handoff)
        return handoff.started

    def start_recorded(self, **extra: object) -> Handoff:
        """Start the container and record it running (`extra`: more state fields)."""
        started = self.start()
        self._mark_running(started, **extra)
        return Handoff(
            started, list(self.attached), dict(self.addresses), self.port_reservations
        )

    def start_failed(self, exc: Exception) -> str:
        """Record a failed first start; the message for the report. A start lost to another
        supervisor's (StartClaimedError) is that one's to record: nothing is written."""
        message = error_text(exc)
        if isinstance(exc, StartClaimedError):
            return message
        self.store.update_state(
            self.container_id, status=ContainerStatus.CREATED, error=message, exit_code=127,
            starting=False,
        )
        return message

    def adopt(self, handoff: Handoff) -> None:
        """Take over what a start-up helper started (engine.supervisor_launch)."""
        self.attached, self.addresses = handoff.attached, handoff.addresses
        if handoff.reservations is not None:  # the host ports' sockets: ours from now on
            self.port_reservations = handoff.reservations

    def run(self, report_fd: int) -> int:
        try:
            # Claimed here, not in a helper: a helper's refusal would come back as any failure.
            self.claim_start()
            started = self._launch(stop_requested=False, remove_requested=False, restart_count=0)
        except Exception as exc:
            # Keep the report pipe open until exit: the CLI reads to EOF, so when start fails it
            # returns only once this process is gone.
            _report(report_fd, f"ERR {self.start_failed(exc)}", close=False)
            return 1
        _report(report_fd, f"OK {started.init_pid}")
        return self.supervise(started)

    def supervise(
        self, started: runtime.StartedProcess, first: tuple[float, int] | None = None
    ) -> int:
        """Reap, record, restart until the container stays down. `first`: when the first run
        began and its exit code, when it was pumped before this object existed (`main`)."""
        backoff = Backoff()
        while True:
            if first is None:
                began = time.monotonic()
                exit_code = self._run_once(started)
            else:
                (began, exit_code), first = first, None
            oom = self.cgroup.oom_killed()
            state = self.store.load_state(self.container_id)
            restart = should_restart(
                self.spec.restart_policy, self.spec.restart_max, exit_code,
                state.restart_count, state.stop_requested,
            )
            self._release(final=not restart)
            ended: dict[str, object] = dict(
                status=ContainerStatus.RESTARTING if restart else ContainerStatus.EXITED,
                finished_at=now_rfc3339(),
                oom_killed=oom,
                pid=None,
                addresses={},
                ports=(),  # released by `_release` just before (in this write when final)
                paused=False,
            )
            if not restart and state.remove_requested:  # `down`: remove it here (stop_containers)
                self.store.remove_after_exit(self.container_id, exit_code, **ended)
                return 0
            self.store.record_exit(self.container_id, exit_code, **ended)
            if not restart or not self._wait_backoff(backoff.next_delay(time.monotonic() - began)):
                if restart:
                    self._update(status=ContainerStatus.EXITED)
                if self.spec.auto_remove:  # `run --rm`: gone once no attached client holds it
                    self._auto_remove()
                return 0
            try:
                started = self._launch(restart_count=state.restart_count + 1)
            except Exception as exc:
                self._update(status=ContainerStatus.EXITED, error=str(exc).strip())
                return 1
            if self._stop_requested():  # a stop raced the restart: honour it
                runtime_stop_signal = signal.SIGKILL
                with contextlib.suppress(ProcessLookupError):
                    os.kill(started.init_pid, runtime_stop_signal)


def _report(fd: int, message: str, close: bool = True) -> None:
    try:
        os.write(fd, message.encode(errors="replace") + b"\n")
        if close:
            os.close(fd)
    except OSError:
        pass


def pump_logs(started: runtime.StartedProcess, log: LogTarget) -> int:
    """Copy stdout/stderr to the log until the container closes them, then reap it; a tty's
    input FIFO (`log.tty_input`) into its master meanwhile (engine.tty_input). A master an
    attached client holds too (`run -it`) is the client's to read until it lets go (detached
    with the detach keys, or gone): meanwhile the client sends what it read over its console
    socket, which is logged; then the master is read here. The container keeps its terminal
    throughout, as Docker's daemon keeps it."""
    writer = LogWriter(Path(log.path), log.max_size, log.max_file)
    selector = selectors.DefaultSelector()
    streams = {started.stdout_fd: "stdout", started.stderr_fd: "stderr"}
    streams.pop(-1, None)  # a tty is one stream
    client: ConsoleClient | None = None
    if started.console_client >= 0:  # the master waits until the client lets go of it
        from engine.console_client import ConsoleClient

        client = ConsoleClient(started.console_client, started.exit_pid, selector)
    else:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
    tty_input = _tty_input(started, log, selector)
    while streams:
        due = writer.next_due()  # unterminated output waits at most until then
        if client is not None and client.deadline is not None:
            due = client.deadline if due is None else min(due, client.deadline)
        timeout = None if due is None else max(due - time.monotonic(), 0.0)
        for key, _ in selector.select(timeout):
            fd = int(key.fd)
            if client is not None and client.owns(fd):
                relayed = client.ready(fd)
                if relayed:
                    writer.feed("stdout", relayed)
                elif relayed is None:
                    _take_terminal(client, streams, selector)
                    client = None
                continue
            if tty_input is not None and tty_input.owns(fd):
                tty_input.ready(fd)
                continue
            if fd not in streams:  # the client's, closed by an earlier event of this batch
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the last holder of a pty slave closed it
                data = b""
            if data:
                writer.feed(streams[fd], data)
            else:
                writer.flush(streams.pop(fd))
                selector.unregister(fd)
                os.close(fd)
        if client is not None and client.overdue(time.monotonic()):
            _take_terminal(client, streams, selector)
            client = None
        if due is not None:
            writer.flush_due(time.monotonic())
    if tty_input is not None:
        tty_input.close()
    writer.close()
    return wait_exit_code(started.exit_pid)


def _tty_input(
    started: runtime.StartedProcess, log: LogTarget, selector: selectors.BaseSelector
) -> TtyInput | None:
    """What `attach` types into a tty container, copied into its master (engine.tty_input)."""
    if not (log.tty_input and started.stderr_fd < 0 and started.stdout_fd >= 0):
        return None
    from engine.tty_input import TtyInput

    return TtyInput.open(log.tty_input, started.stdout_fd, selector)


def _take_terminal(
    client: ConsoleClient, streams: dict[int, str], selector: selectors.BaseSelector
) -> None:
    """The attached client let go of the terminal (or is let go of): its output is read here
    from now on."""
    client.close()
    for stream in streams:
        selector.register(stream, selectors.EVENT_READ)


def _run_lean(make: Callable[[], Supervisor], report_fd: int, first_start: FirstStarter) -> int:
    """The first start through the start server or in a helper child, then the first run's
    log pump, with no Supervisor object here until the container exits: loading the records
    costs ~1 MB of private pages for the container's whole life (engine.supervisor_launch).
    Everything else as `run`."""
    try:
        first: FirstStart | None = first_start()
    except HelperDied as exc:
        supervisor = make()
        if not supervisor.owns_start():  # died before its claim: the start is another's
            _report(report_fd, f"ERR {exc}", close=False)
            return 1
        supervisor.attached = [request.network for request in supervisor.spec.networks]
        supervisor._release()  # what the helper made is unknown: undo all of it
        _report(report_fd, f"ERR {supervisor.start_failed(exc)}", close=False)
        return 1
    if first is None:
        return make().run(report_fd)
    if first.handoff is None or first.log is None:
        _report(report_fd, f"ERR {first.error}", close=False)  # recorded by the helper
        return 1
    started = first.handoff.started
    _report(report_fd, f"OK {started.init_pid}")
    if first.healthcheck:  # the probes run beside the pump: the records are needed now
        supervisor = make()
        supervisor.adopt(first.handoff)
        return supervisor.supervise(started)
    began = time.monotonic()
    exit_code = pump_logs(started, first.log)
    supervisor = make()
    supervisor.adopt(first.handoff)
    return supervisor.supervise(started, (began, exit_code))


def supervise(root: str, container_id: str, report_fd: int, start_server_fd: int = -1) -> int:
    """The supervisor's work, in a process that ignores terminal signals already (forked by
    engine.supervisor_zygote, which ignores them: every call here costs private pages).
    `start_server_fd`: the fork server's end of its start server's socket (engine.start_server)."""

    def make() -> Supervisor:
        return Supervisor(Layout(Path(root)), container_id)

    def first_start() -> FirstStart | None:
        if start_server_fd >= 0:
            served = first_start_served(start_server_fd, root, container_id)
            if served is not None:
                return served
        return first_start_in_helper(make)

    try:
        return _run_lean(make, report_fd, first_start)
    except Exception as exc:
        _record_crash(Layout(Path(root)), container_id, exc)
        raise


SUPERVISOR_ERROR_LOG = "supervisor-error.log"


def _record_crash(layout: Layout, container_id: str, exc: Exception) -> None:
    """A supervisor's stderr is /dev/null (it outlives the CLI): without this, one that fails
    leaves a container `exited (255)` and no word why. The traceback goes beside the log, the
    message into the state (`container inspect`'s State.Error)."""
    import traceback

    with contextlib.suppress(Exception):
        text = "".join(traceback.format_exception(exc))
        (layout.container_dir(container_id) / SUPERVISOR_ERROR_LOG).write_text(text)
        ContainerStore(layout).update_state(
            container_id, error=f"supervisor failed: {type(exc).__name__}: {exc}"
        )


def main(argv: list[str]) -> int:
    # The CLI may be interrupted (Ctrl-C goes to its process group, not ours): ignore stray
    # terminal signals; stop requests go to the container's init directly.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    return supervise(argv[0], argv[1], int(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
