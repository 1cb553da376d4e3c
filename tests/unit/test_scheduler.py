"""The graph walk: start as soon as dependencies meet their conditions, bounded parallelism,
failures stop dependents (named) while independent branches go on."""

from __future__ import annotations

import threading
import time

import pytest

from compose.errors import ComposeError
from compose.model import DependencyCondition as C
from compose.scheduler import (
    DEFAULT_PARALLEL,
    UNLIMITED_PARALLEL,
    DependencyError,
    Edge,
    NodeState,
    parallel_limit,
    walk,
)


class Recorder:
    def __init__(self, delays: dict[str, float] | None = None, fail: set[str] | None = None):
        self.delays = delays or {}
        self.fail = fail or set()
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()

    def work(self, name: str) -> None:
        with self.lock:
            self.started[name] = time.monotonic()
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.delays.get(name, 0.01))
            if name in self.fail:
                raise ComposeError(f"{name} exploded")
        finally:
            with self.lock:
                self.running -= 1
                self.ended[name] = time.monotonic()


def no_wait(_name: str, _cond: C, _cancel: threading.Event) -> None:
    return None


def test_dependent_starts_when_its_dependency_is_done_not_when_the_level_is() -> None:
    # a (slow) and b (fast) have no deps; c needs only b: c must not wait for a.
    rec = Recorder({"a": 0.4, "b": 0.02, "c": 0.02})
    outcome = walk({"a": (), "b": (), "c": (Edge("b"),)}, rec.work, no_wait)
    assert outcome.ok
    assert rec.started["c"] >= rec.ended["b"]
    assert rec.started["c"] < rec.ended["a"], "c waited for an unrelated slow service"


def test_parallelism_is_bounded() -> None:
    rec = Recorder(dict.fromkeys("abcdef", 0.1))
    outcome = walk({n: () for n in "abcdef"}, rec.work, no_wait, parallel=2)
    assert outcome.ok
    assert rec.peak == 2


def test_independent_services_run_in_parallel() -> None:
    rec = Recorder(dict.fromkeys("abcd", 0.1))
    walk({n: () for n in "abcd"}, rec.work, no_wait, parallel=8)
    assert rec.peak == 4


def test_failed_dependency_skips_dependents_with_its_name_and_others_go_on() -> None:
    rec = Recorder(fail={"db"})
    nodes = {"db": (), "web": (Edge("db"),), "proxy": (Edge("web"),), "cache": ()}
    skipped: list[tuple[str, str]] = []
    outcome = walk(nodes, rec.work, no_wait, on_skip=lambda n, r: skipped.append((n, r)))
    assert outcome.states["db"] is NodeState.FAILED
    assert outcome.states["web"] is NodeState.SKIPPED
    assert outcome.states["proxy"] is NodeState.SKIPPED
    assert outcome.states["cache"] is NodeState.DONE
    assert "dependency db failed: db exploded" in outcome.reasons["web"]
    assert "dependency web failed" in outcome.reasons["proxy"]
    assert {n for n, _ in skipped} == {"web", "proxy"}
    assert "web" not in rec.started and "cache" in rec.started


def test_condition_waits_gate_the_dependent() -> None:
    rec = Recorder()
    gate = threading.Event()
    waited: list[tuple[str, C]] = []

    def wait_for(name: str, cond: C, _cancel: threading.Event) -> None:
        waited.append((name, cond))
        gate.wait(2)

    def opener() -> None:
        time.sleep(0.2)
        gate.set()

    t0 = time.monotonic()  # before the opener's sleep begins: the gate opens >= 0.2 s after it
    threading.Thread(target=opener).start()
    outcome = walk({"db": (), "web": (Edge("db", C.HEALTHY),)}, rec.work, wait_for)
    assert outcome.ok
    assert waited == [("db", C.HEALTHY)]
    assert rec.started["web"] - t0 >= 0.2


def test_condition_failure_names_the_dependency() -> None:
    def wait_for(name: str, cond: C, _cancel: threading.Event) -> None:
        raise DependencyError(f'service "{name}" didn\'t complete successfully: exit 3')

    rec = Recorder()
    outcome = walk(
        {"init": (), "app": (Edge("init", C.COMPLETED_SUCCESSFULLY),)}, rec.work, wait_for
    )
    assert outcome.states["app"] is NodeState.SKIPPED
    assert outcome.reasons["app"] == (
        'dependency init failed: service "init" didn\'t complete successfully: exit 3'
    )
    assert not outcome.ok


def test_waiting_does_not_hold_a_parallel_slot() -> None:
    # parallel=1: while `web` waits for `db` to be healthy, `other` must still run.
    rec = Recorder()
    released = threading.Event()

    def wait_for(name: str, cond: C, _cancel: threading.Event) -> None:
        released.wait(2)

    def releaser() -> None:
        while "other" not in rec.ended:
            time.sleep(0.01)
        released.set()

    threading.Thread(target=releaser).start()
    outcome = walk(
        {"db": (), "web": (Edge("db", C.HEALTHY),), "other": ()}, rec.work, wait_for, parallel=1
    )
    assert outcome.ok
    assert rec.ended["other"] <= rec.started["web"]


def test_optional_dependency_failure_only_warns() -> None:
    rec = Recorder(fail={"metrics"})
    outcome = walk({"metrics": (), "app": (Edge("metrics", required=False),)}, rec.work, no_wait)
    assert outcome.states["app"] is NodeState.DONE
    assert any("optional dependency metrics of app failed" in w for w in outcome.warnings)


def test_edges_to_services_outside_the_walk_are_ignored() -> None:
    rec = Recorder()
    outcome = walk({"web": (Edge("db"),)}, rec.work, no_wait)  # --no-deps
    assert outcome.ok and "web" in rec.started


def test_cancel_starts_nothing_more_and_finishes_running_work() -> None:
    rec = Recorder({"a": 0.2})
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    outcome = walk({"a": (), "b": (Edge("a"),)}, rec.work, no_wait, cancel=cancel)
    assert outcome.states["a"] is NodeState.DONE and "a" in rec.ended
    assert outcome.states["b"] is NodeState.SKIPPED
    assert outcome.reasons["b"] == "interrupted"


def test_interrupt_in_the_walking_thread_is_re_raised_after_running_work() -> None:
    rec = Recorder({"a": 0.2})

    def work(name: str) -> None:
        rec.work(name)

    def wait_for(name: str, cond: C, cancel: threading.Event) -> None:
        raise KeyboardInterrupt  # reported as a condition failure, not lost

    outcome = walk({"a": (), "b": (Edge("a", C.HEALTHY),)}, work, wait_for)
    assert outcome.states["b"] is NodeState.SKIPPED


def test_parallel_limit_parsing() -> None:
    assert parallel_limit(None) == DEFAULT_PARALLEL
    assert parallel_limit("") == DEFAULT_PARALLEL
    assert parallel_limit("3") == 3
    assert parallel_limit(-1) == UNLIMITED_PARALLEL
    with pytest.raises(ComposeError, match="at least 1"):
        parallel_limit(0)
    with pytest.raises(ComposeError, match="expected an integer"):
        parallel_limit("many")


def test_outcome_names_the_nodes_that_ran_but_missed_a_condition_not_the_ones_that_failed() -> None:
    """`unmet` decides whether pointing at `logs` helps: a node whose condition failed ran
    (its output may say why); one whose work failed (refused at create) ran nothing."""
    rec = Recorder(fail={"bad"})

    def healthy_fails(name: str, _cond: C, _cancel: threading.Event) -> None:
        raise DependencyError(f"{name} is unhealthy")

    outcome = walk(
        {"bad": (), "sick": (), "a": (Edge("bad"),), "b": (Edge("sick", C.HEALTHY),)},
        rec.work, healthy_fails,
    )
    assert outcome.failed == {
        "bad": "bad exploded", "a": "dependency bad failed: bad exploded",
        "b": "dependency sick failed: sick is unhealthy"}
    assert outcome.unmet == ("sick",)
    only_refused = walk({"bad": (), "a": (Edge("bad"),)}, rec.work, healthy_fails)
    assert only_refused.unmet == ()
