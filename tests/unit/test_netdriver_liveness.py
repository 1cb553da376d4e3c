"""Owner liveness from /proc: start time guards against pid reuse."""

from __future__ import annotations

import os
from pathlib import Path

from netdriver.liveness import is_alive, process_start_time


def fake_stat(proc: Path, pid: int, comm: str, state: str, start: int) -> None:
    (proc / str(pid)).mkdir(parents=True)
    fields = [state] + ["0"] * 18 + [str(start)] + ["0"] * 30  # fields 3..52
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) " + " ".join(fields) + "\n")


def test_own_process_is_alive() -> None:
    start = process_start_time(os.getpid())
    assert start is not None
    assert is_alive(os.getpid(), start)
    assert not is_alive(os.getpid(), start + 1)
    assert is_alive(os.getpid(), None)


def test_missing_pid(tmp_path: Path) -> None:
    assert process_start_time(42, tmp_path) is None
    assert not is_alive(42, None, tmp_path)
    assert process_start_time(0) is None


def test_comm_with_spaces_and_parens(tmp_path: Path) -> None:
    fake_stat(tmp_path, 7, "we) ird (name", "S", 987654)
    assert process_start_time(7, tmp_path) == 987654
    assert is_alive(7, 987654, tmp_path)


def test_pid_reuse_detected(tmp_path: Path) -> None:
    fake_stat(tmp_path, 7, "sleep", "S", 2000)
    assert not is_alive(7, 1000, tmp_path)


def test_zombie_is_dead(tmp_path: Path) -> None:
    fake_stat(tmp_path, 7, "sleep", "Z", 2000)
    assert not is_alive(7, 2000, tmp_path)
