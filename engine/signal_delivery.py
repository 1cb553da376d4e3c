"""A stop signal sent to a container's pid 1 before it could take it, sent again once it can.

The init of a pid namespace only receives the signals it catches or blocks: the kernel drops
the others at send time. tini (`init: true`) blocks them a moment after its exec, and `up -d`
followed at once by `down` (a test suite's fixture does just that) could hit that moment: the
SIGTERM vanished and the stop waited its whole grace period (10 s) for SIGKILL. A pid 1 that
never takes the signal (a command without a handler) is left as Docker leaves it: it gets
SIGKILL at the end of the grace period.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from engine.processes import is_alive, signal_pid

RESEND_WINDOW = 0.25  # s: tini is ready within a few ms of its exec; the window bounds the poll
RESEND_POLL = 0.005


# rt_sigtimedwait(2): while a process waits in it (tini's main loop does), /proc shows the
# signals it waits for as unblocked, yet the kernel queues them (they are blocked for real).
_SIGTIMEDWAIT = {"x86_64": 128, "aarch64": 137}.get(os.uname().machine)


def takes_signal(pid: int, sig: int) -> bool:
    """Whether `sig` sent now would reach `pid`: caught, blocked, or waited for in
    rt_sigtimedwait (anything unknown counts as yes)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            masks = {
                key: int(value, 16)
                for key, _, value in (line.partition(":\t") for line in handle)
                if key in ("SigBlk", "SigCgt")
            }
    except (OSError, ValueError):
        return True
    bit = 1 << (sig - 1)
    if (masks.get("SigBlk", bit) | masks.get("SigCgt", bit)) & bit:
        return True
    return _waits_for_signals(pid)


def _waits_for_signals(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/syscall", encoding="ascii") as handle:
            number = handle.read().split(" ", 1)[0]
    except OSError:
        return True
    return _SIGTIMEDWAIT is None or number == str(_SIGTIMEDWAIT)


def resend_when_taken(dropped: Mapping[str, tuple[int, int | None, int]]) -> None:
    """`dropped`: key -> (pid, its start time, signal) of signals sent to a pid 1 that did not
    take them; each is sent again as soon as its process takes it, within RESEND_WINDOW."""
    waiting = dict(dropped)
    deadline = time.monotonic() + RESEND_WINDOW
    while waiting and time.monotonic() < deadline:
        time.sleep(RESEND_POLL)
        for key, (pid, started, sig) in list(waiting.items()):
            if not is_alive(pid, started):
                del waiting[key]
            elif takes_signal(pid, sig):
                signal_pid(pid, sig)
                del waiting[key]
