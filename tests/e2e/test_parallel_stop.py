"""Stopping in parallel as docker compose does: containers that ignore SIGTERM (busybox `sleep`
as pid 1) each sit out their whole stop_grace_period, and those grace periods overlap instead of
queueing behind `--parallel` slots, while dependents still stop before their dependencies.

Bounds are far above the parallel time and far below the serial one: they prove the overlap
without being a performance test.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e import test_orchestration as orchestration
from tests.e2e.test_orchestration import Stack, engine_leftovers

# The orchestration tests' fixtures: a data root with busybox, a stack always torn down.
root = orchestration.root
stack = orchestration.stack

GRACE = 2.0
STUBBORN = f'image: busybox\ncommand: ["sleep", "300"]\nstop_grace_period: {GRACE:.0f}s\n'


def _timed(stack: Stack, *args: str) -> float:
    began = time.monotonic()
    stack.ok(*args)
    return time.monotonic() - began


def _finished_at(root_dir: Path, project: str) -> dict[str, str]:
    from engine.api import Engine

    return {
        c.labels["com.docker.compose.service"]: c.state.finished_at or ""
        for c in Engine(root_dir).list_containers({"com.docker.compose.project": project})
    }


def test_down_overlaps_grace_periods_even_with_two_parallel_slots(stack: Stack) -> None:
    services = {f"s{i}": STUBBORN for i in range(10)}
    services["s0"] += "deploy:\n  replicas: 3\n"
    stack.write(services)
    stack.ok("up", "-d")
    assert len(stack.rows()) == 12
    # One slot per grace period would take 5 rounds x 2 s (plus s0's replicas): >= 10 s.
    elapsed = _timed(stack, "--parallel", "2", "down")
    assert elapsed < 6.0, f"down took {elapsed:.1f} s: grace periods did not overlap"
    assert engine_leftovers(stack.root, stack.name) == []


def test_stop_keeps_reverse_dependency_order_and_overlaps_dependents(stack: Stack) -> None:
    services = {"db": STUBBORN}
    for i in range(6):
        services[f"web{i}"] = STUBBORN + "depends_on: [db]\n"
    stack.write(services)
    stack.ok("up", "-d")
    # Serial (one slot): 6 webs x 2 s, then db 2 s = 14 s; overlapped: ~2 s + ~2 s.
    elapsed = _timed(stack, "--parallel", "1", "stop")
    assert elapsed < 9.0, f"stop took {elapsed:.1f} s: dependents' grace periods did not overlap"
    assert elapsed >= 2 * GRACE - 0.5, "db must stop only after its dependents are gone"
    assert set(stack.states().values()) == {"exited"}
    finished = _finished_at(stack.root, stack.name)
    assert all(finished[f"web{i}"] < finished["db"] for i in range(6)), finished


@pytest.mark.parametrize("command", [("restart",), ("up", "-d", "--force-recreate")])
def test_restart_and_recreate_overlap_grace_periods(
    stack: Stack, command: tuple[str, ...]
) -> None:
    stack.write({f"s{i}": STUBBORN for i in range(8)})
    stack.ok("up", "-d")
    before = stack.ids()
    # One slot at a time would take 8 x 2 s = 16 s.
    elapsed = _timed(stack, "--parallel", "1", *command)
    assert elapsed < 10.0, f"{command[0]} took {elapsed:.1f} s: grace periods did not overlap"
    assert set(stack.states().values()) == {"running"}
    if "--force-recreate" in command:
        assert set(stack.ids().values()).isdisjoint(before.values())
