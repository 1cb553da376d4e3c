"""The attached client of a `run -it` container's terminal, as the supervisor's log pump sees
it (engine.supervisor.pump_logs): the client reads the pty's master and sends what it read on
its console socket, for the log; the pump reads the master itself once the client lets go
(it detached, or died: the socket closes).

A client that is alive but stuck (stopped, or blocked on a terminal that takes no output)
must not keep the container's exit from being recorded: once the container's process has
exited, the client gets CLIENT_GRACE seconds more to send the last of its output, then the
pump stops waiting for it (its next send fails, which ends its copying, not its relay).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import time

CLIENT_GRACE = 1.0
_READ_SIZE = 65536


class ConsoleClient:
    def __init__(self, fd: int, exit_pid: int, selector: selectors.BaseSelector) -> None:
        self.fd = fd
        self.selector = selector
        selector.register(fd, selectors.EVENT_READ)
        self.exit_watch = _pidfd(exit_pid)
        if self.exit_watch >= 0:
            selector.register(self.exit_watch, selectors.EVENT_READ)
        self.deadline: float | None = None  # set once the container's process exited

    def owns(self, fd: int) -> bool:
        return fd in (self.fd, self.exit_watch)

    def ready(self, fd: int) -> bytes | None:
        """What the client relayed since (b"" when nothing, for now); None once it let go."""
        if fd == self.exit_watch:
            self._stop_watching_exit()
            self.deadline = time.monotonic() + CLIENT_GRACE
            return b""
        try:
            return os.read(self.fd, _READ_SIZE) or None
        except OSError:  # reset: it died
            return None

    def overdue(self, now: float) -> bool:
        """The container's process exited a grace period ago and the client still holds on."""
        return self.deadline is not None and now >= self.deadline

    def close(self) -> None:
        self._stop_watching_exit()
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def _stop_watching_exit(self) -> None:
        if self.exit_watch < 0:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.exit_watch)
        with contextlib.suppress(OSError):
            os.close(self.exit_watch)
        self.exit_watch = -1


def _pidfd(pid: int) -> int:
    """A descriptor readable once `pid` (our child, not reaped yet) exits; -1 where the kernel
    has none (before 5.3): the pump then waits for the client alone, as before."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return -1
