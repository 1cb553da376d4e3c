"""Waiting for a process that is not our child (a container's supervisor) to be gone."""

from __future__ import annotations

import subprocess

from engine.processes import start_time, wait_gone


def test_wait_gone_returns_once_the_process_exits() -> None:
    child = subprocess.Popen(["sleep", "0.2"])
    started = start_time(child.pid)
    try:
        assert wait_gone(child.pid, started, timeout=30) is True
    finally:
        child.wait()


def test_wait_gone_times_out_while_it_runs() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert wait_gone(child.pid, start_time(child.pid), timeout=0.05) is False
    finally:
        child.kill()
        child.wait()


def test_a_pid_with_another_start_time_is_not_ours() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = start_time(child.pid)
        assert started is not None
        assert wait_gone(child.pid, started + 1, timeout=30) is True  # a reused pid: ours is gone
    finally:
        child.kill()
        child.wait()


def test_no_pid_is_gone() -> None:
    assert wait_gone(None, None, timeout=1) is True
