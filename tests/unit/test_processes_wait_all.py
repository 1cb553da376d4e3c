"""Waiting for many processes at once, each until its own deadline (stopping many containers:
their grace periods overlap)."""

from __future__ import annotations

import subprocess
import time

from engine.processes import start_time, wait_all_gone


def test_each_process_is_waited_for_until_its_own_deadline_all_at_once() -> None:
    quick = subprocess.Popen(["sleep", "0.1"])
    stubborn = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
    try:
        processes = {"quick": (quick.pid, start_time(quick.pid))}
        processes |= {f"s{i}": (p.pid, start_time(p.pid)) for i, p in enumerate(stubborn)}
        now = time.monotonic()
        deadlines = {"quick": now + 20} | {f"s{i}": now + 0.3 for i in range(3)}
        late = wait_all_gone(processes, deadlines)
        elapsed = time.monotonic() - now
        assert late == {"s0", "s1", "s2"}
        # The stubborn ones' 0.3 s waits overlapped (one after another would be 0.9 s); the
        # quick one was seen gone long before its 20 s deadline.
        assert elapsed < 0.85, elapsed
    finally:
        for child in [quick, *stubborn]:
            child.kill()
            child.wait()


def test_gone_and_unknown_processes_are_not_late() -> None:
    child = subprocess.Popen(["sleep", "0.01"])
    started = start_time(child.pid) or 0  # 0 never matches: a reused pid is not ours
    child.wait()
    deadline = time.monotonic() + 5
    assert wait_all_gone({"gone": (child.pid, started), "none": (None, None)},
                         {"gone": deadline, "none": deadline}) == set()
