"""`scheduler.waiting()`: work that waits (a stop's grace period) lends its parallel slot to
other nodes, so `--parallel` bounds the work while the waits overlap; outside a walk it is a
no-op."""

from __future__ import annotations

import threading

from compose.model import DependencyCondition as C
from compose.scheduler import Edge, waiting, walk


def no_wait(_name: str, _cond: C, _cancel: threading.Event) -> None:
    return None


def test_waits_overlap_beyond_the_parallel_limit_while_the_work_stays_bounded() -> None:
    nodes = {f"n{i}": () for i in range(6)}
    # Every node waits until all six are waiting at once: only possible if slots are lent.
    everyone_waiting = threading.Barrier(len(nodes), timeout=10)
    lock = threading.Lock()
    working = 0
    peak = 0

    def work(_name: str) -> None:
        nonlocal working, peak
        for _phase in range(2):  # work, wait, work
            with lock:
                working += 1
                peak = max(peak, working)
            threading.Event().wait(0.01)
            with lock:
                working -= 1
            if _phase == 0:
                with waiting():
                    everyone_waiting.wait()

    outcome = walk(nodes, work, no_wait, parallel=2)
    assert outcome.ok, outcome.failed
    assert peak <= 2, f"{peak} nodes worked at once with --parallel 2"


def test_a_node_still_waits_for_its_edges_while_they_lend_their_slot() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        with waiting():
            threading.Event().wait(0.05)
        with lock:
            order.append(name)

    # "db" may only run once both dependents ("web", "worker") are done.
    nodes = {"db": (Edge("web"), Edge("worker")), "web": (), "worker": ()}
    assert walk(nodes, work, no_wait, parallel=1).ok
    assert order[-1] == "db"


def test_outside_a_walk_waiting_does_nothing() -> None:
    with waiting():
        pass
    with waiting(), waiting():  # nested: still fine
        pass
