"""Client side of the supervisor fork server (see engine.supervisor_zygote)."""

from __future__ import annotations

import array
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path


class SupervisorSpawner:
    """Starts detached supervisors through one zygote per process; restarts it when it idled
    out or died, so a caller never sees the difference."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def _start_zygote(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "engine.supervisor_zygote", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        finally:
            theirs.close()
        return ours

    def _reap(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._process is not None:
            self._process.wait()
            self._process = None

    def _request(self, root: Path, container_id: str, report_fd: int, flags: str) -> bool:
        if self._sock is None:
            self._sock = self._start_zygote()
        payload = f"{root}\0{container_id}\0{flags}".encode()
        fds = array.array("i", [report_fd])
        try:
            self._sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            acknowledged = self._sock.recv(1) == b"A"
        except OSError:
            acknowledged = False
        if not acknowledged:
            self._reap()
        return acknowledged

    def prewarm(self) -> None:
        """Start the zygote now, so its Python start-up and imports run while the caller does
        its own work (a one-off `run` loading its project) instead of after it."""
        with self._lock:
            if self._sock is None:
                self._sock = self._start_zygote()

    def prestart(self) -> None:
        """Start the zygote now, without waiting for it: its start-up (Python and the
        supervisor's imports, ~200 ms) then overlaps with the caller's own work before the
        first `spawn`. Cheap when it already runs; one that idles out is replaced later."""
        with self._lock:
            if self._sock is None:
                self._sock = self._start_zygote()

    def close(self) -> None:
        """Let the zygote go now (it would idle out anyway): for callers that check for
        leftover processes, such as the test suite's leak check."""
        with self._lock:
            self._reap()

    def spawn(self, root: Path, container_id: str, *, needs_netlink: bool = True) -> str:
        """Start the supervisor; return its one-line report ("OK pid" or "ERR reason").
        `needs_netlink`: the container attaches to a bridge, so the zygote should have loaded
        pyroute2 before forking it (False lets a `none`/`host` container skip that wait)."""
        return self._spawn(root, container_id, "n" if needs_netlink else "")

    def start_resolver(self, root: Path) -> bool:
        """Fork the data root's DNS resolver from the zygote (it then shares the interpreter's
        pages with the supervisors); True once it listens, or another one already does."""
        return self._spawn(root, "", "d").startswith("OK")

    def _spawn(self, root: Path, container_id: str, flags: str) -> str:
        read_fd, write_fd = os.pipe()
        try:
            with self._lock:
                # The zygote acknowledges on receipt, before it forks: the lock is held for one
                # round trip, and concurrent callers' requests queue up in its socket.
                # A zygote that idled out between two requests gets replaced, once.
                started = self._request(root, container_id, write_fd, flags) or self._request(
                    root, container_id, write_fd, flags
                )
        finally:
            os.close(write_fd)
        if not started:
            os.close(read_fd)
            return "ERR could not start the container supervisor"
        with os.fdopen(read_fd, "rb") as reader:
            report = reader.readline().decode(errors="replace")
            if not report.startswith("OK"):
                reader.read()  # EOF: the failed supervisor has exited
        return report


SPAWNER = SupervisorSpawner()
