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
from pathlib import Path

from engine import runtime
from engine.cgroups import Limits, container_cgroup
from engine.containers import ContainerStatus, ContainerStore, now_rfc3339
from engine.hosts import refresh_hosts
from engine.layout import Layout
from engine.logs import LogWriter
from engine.processes import start_time
from engine.runtime_spec import RuntimeSpec
from netdriver.api import NetworkDriver


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

    def _wire_network(self, stage1_pid: int) -> None:
        if self.spec.network_mode != "bridge":
            return
        netns = f"/proc/{stage1_pid}/ns/net"
        for index, request in enumerate(self.spec.networks):
            endpoint = self.driver.attach(
                request.network,
                self.container_id,
                netns,
                ifname=f"eth{index}",
                names=request.names,
                ipv4=request.ipv4,
                owner_pid=os.getpid(),
                default_route=index == 0,
            )
            self.attached.append(request.network)
            self.addresses[request.network] = endpoint.ipv4
        refresh_hosts(self.layout, self.driver, self.attached)

    def _release(self) -> None:
        for network in self.attached:
            # Best effort: a stale record is pruned by liveness later.
            with contextlib.suppress(Exception):
                self.driver.detach(network, self.container_id)
        if self.attached:
            with contextlib.suppress(Exception):
                refresh_hosts(self.layout, self.driver, self.attached)
        self.attached = []
        self.cgroup.remove()

    def start(self) -> runtime.StartedProcess:
        self.cgroup.create(Limits(memory_bytes=self.spec.memory_limit, pids=self.spec.pids_limit))
        try:
            return runtime.start(self.spec, self.cgroup, self._wire_network)
        except BaseException:
            self._release()
            raise

    def pump(self, started: runtime.StartedProcess) -> int:
        """Copy stdout/stderr to the log until the container closes them, then reap it."""
        writer = LogWriter(Path(self.spec.log_file))
        selector = selectors.DefaultSelector()
        streams = {started.stdout_fd: "stdout", started.stderr_fd: "stderr"}
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while streams:
            for key, _ in selector.select():
                fd = int(key.fd)
                data = os.read(fd, 65536)
                if data:
                    writer.feed(streams[fd], data)
                else:
                    writer.flush(streams.pop(fd))
                    selector.unregister(fd)
                    os.close(fd)
        writer.close()
        return runtime._wait_exit_code(started.stage1_pid)

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
        self.store.update_state(
            self.container_id,
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
            addresses=dict(self.addresses),
        )
        _report(report_fd, f"OK {started.init_pid}")
        exit_code = self.pump(started)
        oom = self.cgroup.oom_killed()
        self._release()
        self.store.update_state(
            self.container_id,
            status=ContainerStatus.EXITED,
            exit_code=exit_code,
            finished_at=now_rfc3339(),
            oom_killed=oom,
            pid=None,
            addresses={},
        )
        return 0


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
