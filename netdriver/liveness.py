"""Process liveness from /proc, robust against pid reuse.

A pid alone proves nothing after its owner died: the kernel may hand it to an unrelated
process. The start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) together
with the pid identifies one process for the lifetime of the boot.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def process_start_time(pid: int, proc: Path = PROC) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    if pid <= 0:
        return None
    # Plain os calls, not pathlib's read_text: every attach checks every endpoint of its
    # network (O(N) reads), in a freshly forked process where each Python object touched
    # costs a copy-on-write page fault.
    try:
        fd = os.open(f"{proc}/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    try:
        raw = os.read(fd, 4096)
    except OSError:  # ESRCH: it exited between open and read
        return None
    finally:
        os.close(fd)
    # comm (field 2) may contain spaces and parentheses: split after the *last* ')'.
    rest = raw[raw.rfind(b")") + 2 :].split()
    # rest[0] is field 3 (state); field 22 is rest[19].
    try:
        state, start = rest[0], int(rest[19])
    except (IndexError, ValueError):
        return None
    if state in (b"Z", b"X"):  # a zombie has released its namespaces already
        return None
    return start


def is_alive(pid: int, start_time: int | None, proc: Path = PROC) -> bool:
    """True if ``pid`` runs and is the same process whose start time was recorded.

    With no recorded start time (it could not be read at attach) only existence is checked.
    """
    now = process_start_time(pid, proc)
    if now is None:
        return False
    return start_time is None or now == start_time
