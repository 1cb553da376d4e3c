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
from dataclasses import replace
from pathlib import Path

from engine import ports, runtime
from engine.cgroups import container_cgroup
from engine.containers import ContainerStatus, ContainerStore, now_rfc3339
from engine.dns_control import ensure_resolver, nudge_resolver
from engine.forked_call import call_forked
from engine.hosts import write_hosts
from engine.layout import Layout
from engine.logs import LogWriter
from engine.processes import start_time, wait_exit_code
from engine.restart_policy import Backoff, should_restart
from engine.runtime_spec import RuntimeSpec
from netdriver.api import NetworkDriver, PortRule


class Supervisor:
    def __init__(self, layout: Layout, container_id: str) -> None:
        self.layout = layout
        self.container_id = container_id
        self.store = ContainerStore(layout)
        self.spec = RuntimeSpec.load(layout.container_dir(container_id) / "runtime.json")
        self.cgroup = container_cgroup(container_id)
        self.driver = NetworkDriver(layout.networks)
        self.attached: list[str] = []
        self.addresses: dict[str, str] = {}
        self.port_reservations = ports.PortReservations()

    def _wire_network(self, stage1_pid: int) -> None:
        """Connect the container's netns. The netlink, firewall and resolver work runs in a
        throwaway child (engine.forked_call): done here it would leave megabytes of private
        copies of the zygote's pages in this long-lived process. Only what must live as long
        as the container stays here: the host-port reservations (bound sockets). The runtime
        brings lo up itself, so other modes (`none`, `host`, another container's) need nothing."""
        if self.spec.network_mode != "bridge":
            return
        netns = f"/proc/{stage1_pid}/ns/net"
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
        owner_pid = os.getpid()
        self.addresses = dict(call_forked(lambda: self._attach(netns, owner_pid, published)))
        if published:
            self.store.update_state(self.container_id, ports=tuple(published))

    def _attach(
        self, netns: str, owner_pid: int, published: list[ports.PublishedPort]
    ) -> dict[str, str]:
        """In the helper child: veths, /etc/hosts, the resolver, port forwarding rules."""
        endpoints = [
            self.driver.attach(
                request.network,
                self.container_id,
                netns,
                ifname=f"eth{index}",
                names=request.names,
                ipv4=request.ipv4,
                owner_pid=owner_pid,
                default_route=index == 0,
                ipv6=request.ipv6,
            )
            for index, request in enumerate(self.spec.networks)
        ]
        write_hosts(self.layout, self.container_id, endpoints)
        ensure_resolver(
            self.layout, [self.driver.get_network(e.network).gateway for e in endpoints]
        )
        if published:
            self.driver.publish_ports(self.container_id, [
                PortRule(p.protocol, p.host_ip, p.host_port, endpoints[0].ipv4, p.target)
                for p in published
            ])
        return {endpoint.network: endpoint.ipv4 for endpoint in endpoints}

    def _detach(self, networks: list[str], forwarded: bool) -> None:
        """In the helper child: undo `_attach`, best effort (liveness prunes what is left)."""
        if forwarded:
            with contextlib.suppress(Exception):
                self.driver.unpublish_ports(self.container_id)
        for network in networks:
            with contextlib.suppress(Exception):
                self.driver.detach(network, self.container_id)
        if networks:
            nudge_resolver(self.layout)

    def _release(self) -> None:
        forwarded = bool(self.spec.ports) and self.spec.network_mode == "bridge"
        networks = list(self.attached)
        if forwarded or networks:
            with contextlib.suppress(Exception):
                call_forked(lambda: self._detach(networks, forwarded))
        if forwarded:
            with contextlib.suppress(Exception):
                self.store.update_state(self.container_id, ports=())
        self.port_reservations.close()
        self.attached = []
        self.cgroup.remove()
        runtime.release(self.spec)  # volumes with driver_opts: the last user unmounts

    def start(self) -> runtime.StartedProcess:
        limits = self.spec.resources
        if limits.memory_bytes is None and limits.pids is None:
            limits = replace(limits, memory_bytes=self.spec.memory_limit, pids=self.spec.pids_limit)
        self.cgroup.create(limits)
        try:
            return runtime.start(self.spec, self.cgroup, self._wire_network)
        except BaseException:
            self._release()
            raise

    def pump(self, started: runtime.StartedProcess) -> int:
        """Copy stdout/stderr to the log until the container closes them, then reap it."""
        writer = LogWriter(
            Path(self.spec.log_file), self.spec.log_max_size, self.spec.log_max_file
        )
        selector = selectors.DefaultSelector()
        streams = {started.stdout_fd: "stdout", started.stderr_fd: "stderr"}
        streams.pop(-1, None)  # a tty is one stream
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while streams:
            for key, _ in selector.select():
                fd = int(key.fd)
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
        writer.close()
        return wait_exit_code(started.exit_pid)

    def _update(self, **changes: object) -> None:
        self.store.update_state(self.container_id, **changes)

    def _mark_running(self, started: runtime.StartedProcess, **extra: object) -> None:
        self._update(
            status=ContainerStatus.RUNNING,
            pid=started.init_pid,
            pid_start=start_time(started.init_pid),
            supervisor_pid=os.getpid(),
            supervisor_start=start_time(os.getpid()),
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

    def run(self, report_fd: int) -> int:
        try:
            started = self.start()
        except Exception as exc:
            message = str(exc).strip() or exc.__class__.__name__
            self.store.update_state(
                self.container_id, status=ContainerStatus.CREATED, error=message, exit_code=127
            )
            # Keep the report pipe open until exit: the CLI reads to EOF, so when start fails it
            # returns only once this process is gone.
            _report(report_fd, f"ERR {message}", close=False)
            return 1
        self._mark_running(started, stop_requested=False, restart_count=0)
        _report(report_fd, f"OK {started.init_pid}")
        backoff = Backoff()
        while True:
            began = time.monotonic()
            exit_code = self._run_once(started)
            oom = self.cgroup.oom_killed()
            self._release()
            state = self.store.load_state(self.container_id)
            restart = should_restart(
                self.spec.restart_policy, self.spec.restart_max, exit_code,
                state.restart_count, state.stop_requested,
            )
            self._update(
                status=ContainerStatus.RESTARTING if restart else ContainerStatus.EXITED,
                exit_code=exit_code,
                finished_at=now_rfc3339(),
                oom_killed=oom,
                pid=None,
                addresses={},
                paused=False,
            )
            if not restart or not self._wait_backoff(backoff.next_delay(time.monotonic() - began)):
                if restart:
                    self._update(status=ContainerStatus.EXITED)
                return 0
            try:
                started = self.start()
            except Exception as exc:
                self._update(status=ContainerStatus.EXITED, error=str(exc).strip())
                return 1
            self._mark_running(started, restart_count=state.restart_count + 1)
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


def main(argv: list[str]) -> int:
    root, container_id, report_fd = Path(argv[0]), argv[1], int(argv[2])
    # The CLI may be interrupted (Ctrl-C goes to its process group, not ours): ignore stray
    # terminal signals; stop requests go to the container's init directly.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    return Supervisor(Layout(root), container_id).run(report_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
