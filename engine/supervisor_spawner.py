"""Client side of the supervisor fork server (see engine.supervisor_zygote).

A one-off `run` imports this first, to start the fork server before anything else: so it
imports only modules built into the interpreter (`_socket`, `_thread`, no subprocess, socket,
threading or pathlib: os.posix_spawn starts the server; ~5 ms less before the server starts),
and the server's Python skips `site` (-S), its search path given instead (~2.5 ms).
"""

from __future__ import annotations

import _socket
import _thread
import fcntl
import os
import sys

TYPE_CHECKING = False  # not even typing before the server starts
if TYPE_CHECKING:
    from pathlib import Path

# The server's end of the socket pair, in the server (any descriptor above stdio will do).
ZYGOTE_FD = 3
_ABOVE = 10  # the descriptors handed over sit above stdio and ZYGOTE_FD while spawning


class SupervisorSpawner:
    """Starts detached supervisors through one zygote per process; restarts it when it idled
    out or died, so a caller never sees the difference."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._sock: _socket.socket | None = None
        self._pid: int | None = None

    def _start_zygote(self) -> _socket.socket:
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        null = source = -1
        try:
            # Copies above the targets (close-on-exec, as every descriptor here), so that no
            # dup2 below overwrites another's source even with stdio closed; dup2 clears
            # close-on-exec in the child only: no other child started meanwhile (threads of
            # `up` run iptables) inherits the socket.
            source = fcntl.fcntl(theirs.fileno(), fcntl.F_DUPFD_CLOEXEC, _ABOVE)
            opened = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            null = fcntl.fcntl(opened, fcntl.F_DUPFD_CLOEXEC, _ABOVE)
            os.close(opened)
            self._pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-S", "-m", "engine.supervisor_zygote", str(ZYGOTE_FD)],
                _zygote_env(),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, source, ZYGOTE_FD),
                    (os.POSIX_SPAWN_DUP2, null, 0),
                    (os.POSIX_SPAWN_DUP2, null, 1),
                    (os.POSIX_SPAWN_DUP2, null, 2),
                ],
                setsid=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            for fd in (source, null):
                if fd >= 0:
                    os.close(fd)
        return ours

    def _reap(self) -> None:
        import contextlib

        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._pid is not None:
            with contextlib.suppress(ChildProcessError):  # reaped already (SIGCHLD ignored)
                os.waitpid(self._pid, 0)
            self._pid = None

    def _request(self, root: Path, container_id: str, report_fd: int, flags: str) -> bool:
        if self._sock is None:
            self._sock = self._start_zygote()
        payload = f"{root}\0{container_id}\0{flags}".encode()
        fds = report_fd.to_bytes(4, sys.byteorder, signed=True)  # one C int
        try:
            self._sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
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

    def warm_netlink(self) -> None:
        """Tell a running zygote that a bridge attachment is coming: it loads the attach path
        now, while the caller prepares the container, not when the request arrives (no
        acknowledgement; nothing to do when no zygote runs: one started later loads it)."""
        import contextlib

        with self._lock:
            if self._sock is None:
                return
            with contextlib.suppress(OSError):  # gone: the next request starts a new one
                self._sock.send(b"\0\0w")

    def prestart(self) -> None:
        """Start the zygote now, without waiting for it: its start-up (Python and the
        supervisor's imports, ~200 ms) then overlaps with the caller's own work before the
        first `spawn`. Cheap when it already runs; one that idles out is replaced later.

        Never waits for the lock: whoever holds it is in a request, which starts the zygote
        itself if none runs, and may be waiting for a zygote still at its imports to answer.
        Waiting behind that held each `create_container` of an `up` (which calls this) for up
        to ~30 ms, the first one always: the resolver's start had the zygote's first request."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._sock is None:
                self._sock = self._start_zygote()
        finally:
            self._lock.release()

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


def _zygote_env() -> dict[str, str]:
    """This environment with the server's search path in PYTHONPATH: this package's parent,
    then this process's own path (what `site` added: the venv's site-packages with pyseccomp,
    and any .pth entries), since the server runs without `site`. The first entry, this
    script's directory, is left out, as `python -m` leaves it out."""
    package_parent = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    env = dict(os.environ)
    paths = [package_parent, env.get("PYTHONPATH", ""), *sys.path[1:]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entry for entry in paths if entry))
    return env


SPAWNER = SupervisorSpawner()
