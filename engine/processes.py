"""Liveness observed from /proc, never assumed from a state file: a pid is only 'ours' if its
start time still matches the one recorded when we started it."""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections.abc import Hashable, Mapping

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import TypeVar

    K = TypeVar("K", bound=Hashable)


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), or None if the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    return int(fields[19])


def is_alive(pid: int | None, started: int | None) -> bool:
    return gone_reason(pid, started) is None


def gone_reason(pid: int | None, started: int | None) -> str | None:
    """Why the process `pid` (started at `started`, if known) counts as gone; None while it
    runs. Kept in a container's state when its supervisor is found gone, for whoever asks why
    it `exited (255)`."""
    if not pid:
        return "no process recorded"
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return f"/proc/{pid}/stat: {exc.strerror}"
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    if started is not None and int(fields[19]) != started:
        return f"pid {pid} is another process now (started at {int(fields[19])}, not {started})"
    if fields[0] == b"Z":
        return f"pid {pid} is a zombie"
    return None


def owner_tag() -> str:
    """`<pid>.<start time>` of this process: written into what it makes that must not outlive
    it (a build's step container, a partial blob), so a later process can tell the leftovers
    of a killed one (`owner_gone`) from those of one still at work."""
    pid = os.getpid()
    return f"{pid}.{start_time(pid) or 0}"


def owner_gone(tag: str) -> bool | None:
    """Whether the process an `owner_tag` names has ended (its pid gone or reused); None when
    `tag` is not one."""
    pid, dot, started = tag.partition(".")
    if not (dot and pid.isdigit() and started.isdigit()):
        return None
    return not is_alive(int(pid), int(started))


class ExitWatch:
    """Readiness of one process's exit, without polling: a pidfd (Linux >= 5.3) becomes
    readable when its process exits, so a waiter sleeps in `select` and wakes the moment it is
    gone instead of up to one poll interval later. Where no pidfd can be had (older kernel, the
    process already gone, or its pid reused), `wait` just sleeps for the timeout: callers
    re-check liveness from /proc after every wake-up anyway."""

    def __init__(self, pid: int | None, started: int | None) -> None:
        self._fd = -1
        if not pid or not hasattr(os, "pidfd_open"):
            return
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return
        # The pid may have been reused between the state file and pidfd_open: the start time
        # read *after* opening tells whether this pidfd is the process we meant.
        if started is not None and start_time(pid) != started:
            os.close(fd)
            return
        self._fd = fd

    @property
    def precise(self) -> bool:
        """True when a pidfd backs the watch, so `wait` wakes at the exit itself."""
        return self._fd >= 0

    def fileno(self) -> int:
        """The pidfd (readable once the process has exited); -1 without one."""
        return self._fd

    def wait(self, timeout: float) -> None:
        """Return after `timeout` seconds, or as soon as the process has exited."""
        if self._fd < 0:
            time.sleep(timeout)
            return
        with contextlib.suppress(InterruptedError):
            select.select([self._fd], [], [], timeout)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def wait_gone(pid: int | None, started: int | None, timeout: float) -> bool:
    """Wait until the process (not our child, so no waitpid) is gone; False on timeout.
    Without pidfd support this polls every 10 ms."""
    deadline = time.monotonic() + timeout
    watch = ExitWatch(pid, started)
    try:
        while is_alive(pid, started):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            watch.wait(min(remaining, 1.0 if watch.precise else 0.01))
        return True
    finally:
        watch.close()


def wait_all_gone(
    processes: Mapping[K, tuple[int | None, int | None]], deadlines: Mapping[K, float]
) -> set[K]:
    """Wait for many processes at once, each until its own `time.monotonic()` deadline; the
    keys of those still alive at their deadline. One thread sleeps in `poll` on all their
    pidfds, so N stops that each wait a grace period take one grace period, not N (and no
    thread per process). Without pidfds it polls /proc every 10 ms."""
    watches = {key: ExitWatch(pid, started) for key, (pid, started) in processes.items()}
    late: set[K] = set()
    try:
        pending = set(watches)
        while pending:
            now = time.monotonic()
            for key in list(pending):
                pid, started = processes[key]
                if not is_alive(pid, started):
                    pending.discard(key)
                elif deadlines[key] <= now:
                    pending.discard(key)
                    late.add(key)
            if not pending:
                break
            precise = all(watches[key].precise for key in pending)
            timeout = min(deadlines[key] for key in pending) - now
            timeout = max(0.0, min(timeout, 1.0 if precise else 0.01))
            poller = select.poll()
            for key in pending:
                if watches[key].precise:
                    poller.register(watches[key].fileno(), select.POLLIN)
            with contextlib.suppress(InterruptedError):
                if precise:
                    poller.poll(timeout * 1000)
                else:
                    time.sleep(timeout)
        return late
    finally:
        for watch in watches.values():
            watch.close()


def signal_pid(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def wait_exit_code(pid: int) -> int:
    """Wait for a child; its fate as Docker reports it (killed by signal N -> 128+N)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)
        return os.WEXITSTATUS(status)


def read_to_eof(fd: int) -> bytes:
    """Everything a pipe still gives until every writer has closed it (a child's report)."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor but `keep`: a process about to run something else (a container's
    init or exec'd process, the start server) must not hold its parent's pipes and sockets
    open."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
