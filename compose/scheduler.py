"""Walk a dependency graph with bounded parallelism: each node starts as soon as every one of its
dependencies meets the condition the edge asks for, not when a whole "level" is done.

Pure orchestration logic: the work itself and the condition waits are callables, so the walk is
unit-tested with fakes and driven by the engine for real in `compose.orchestrator`.

Rules (docker compose's):
- a failed node fails every dependent that *requires* it, with a reason naming the dependency;
  independent branches go on;
- an edge with `required=False` is skipped when its dependency is not in the graph, and a failure
  of such a dependency only warns;
- waiting for a condition (healthy, completed) does not hold a parallel slot: only the work does;
  work that itself waits (a stop's grace period) lends its slot back inside `waiting()`, so
  `--parallel` bounds how much engine work runs at once, never how many grace periods overlap.
"""

from __future__ import annotations

import contextlib
import enum
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from compose.errors import ComposeError
from compose.model import DependencyCondition

DEFAULT_PARALLEL = 8
UNLIMITED_PARALLEL = 256  # `--parallel -1`: threads are made lazily, so this only caps


class NodeState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # never ran: a dependency failed or the walk was cancelled


@dataclass(frozen=True)
class Edge:
    """`dependent` needs `dependency` to reach `condition` before it may run."""

    dependency: str
    condition: DependencyCondition = DependencyCondition.STARTED
    required: bool = True


@dataclass(frozen=True)
class Outcome:
    """What the walk did: every node's final state and, for the unhappy ones, why."""

    states: Mapping[str, NodeState]
    reasons: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # Nodes whose work was done but that never met a condition a dependent waited for
    # (exited, unhealthy): their containers ran, so their output may say why. A node whose
    # work failed (a container refused at create or start) ran nothing worth reading.
    unmet: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(s is NodeState.DONE for s in self.states.values())

    @property
    def failed(self) -> dict[str, str]:
        return {
            n: self.reasons.get(n, "")
            for n, s in self.states.items()
            if s in (NodeState.FAILED, NodeState.SKIPPED)
        }


class DependencyError(ComposeError):
    """A dependency did not reach its condition (unhealthy, exited non-zero, failed)."""


Work = Callable[[str], None]
# Blocks until `service` meets `condition`; raises (ideally DependencyError) when it never will.
Waiter = Callable[[str, DependencyCondition, threading.Event], None]
Skipped = Callable[[str, str], None]


def parallel_limit(value: int | str | None) -> int:
    """`--parallel` / COMPOSE_PARALLEL_LIMIT: unset means the default, -1 unlimited."""
    if value is None or value == "":
        return DEFAULT_PARALLEL
    try:
        number = int(value)
    except ValueError:
        raise ComposeError(f"invalid parallel limit {value!r}: expected an integer") from None
    if number < 0:
        return UNLIMITED_PARALLEL
    if number == 0:
        raise ComposeError("invalid parallel limit 0: must be at least 1 (or -1 for the default)")
    return number


class _Slot(threading.local):
    """The parallel slot the current worker thread holds, if it runs a walk's work."""

    gate: threading.Semaphore | None = None


_SLOT = _Slot()


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Around a block that mostly waits (signal containers, then sit out their grace period):
    the calling worker's parallel slot is lent to other nodes meanwhile and taken back after.
    docker compose runs stops unbounded (`--parallel` -1 by default); this keeps the bound on
    the work while 50 containers that ignore SIGTERM still stop in one grace period.
    Outside a walk's worker thread (or nested) it does nothing."""
    gate = _SLOT.gate
    if gate is None:
        yield
        return
    _SLOT.gate = None
    gate.release()
    try:
        yield
    finally:
        gate.acquire()
        _SLOT.gate = gate


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class _Walk:
    def __init__(
        self,
        nodes: Mapping[str, tuple[Edge, ...]],
        work: Work,
        wait_for: Waiter,
        parallel: int,
        cancel: threading.Event,
        on_skip: Skipped,
    ) -> None:
        self.edges = {
            name: tuple(e for e in edges if e.dependency in nodes and e.dependency != name)
            for name, edges in nodes.items()
        }
        self.work = work
        self.wait_for = wait_for
        self.parallel = max(1, parallel)
        # A worker thread per runnable node, `parallel` of them working at once: a worker in
        # `waiting()` gives its slot back, which a fixed-size pool could not do.
        self.gate = threading.Semaphore(self.parallel)
        self.cancel = cancel
        self.on_skip = on_skip
        self.states = dict.fromkeys(nodes, NodeState.PENDING)
        self.reasons: dict[str, str] = {}
        self.warnings: list[str] = []
        # (dependency, condition) -> None while unknown, "" when met, else the failure reason
        self.conditions: dict[tuple[str, DependencyCondition], str | None] = {}
        # (node, condition or None for the work itself, error or None)
        self.events: queue.Queue[tuple[str, DependencyCondition | None, str | None]] = (
            queue.Queue()
        )
        self.dependents: dict[str, list[str]] = {name: [] for name in nodes}
        for name, edges in self.edges.items():
            for edge in edges:
                self.dependents[edge.dependency].append(name)

    # -- helpers run on worker threads: they only post events ------------------------------
    def _run(self, name: str) -> None:
        self.gate.acquire()
        _SLOT.gate = self.gate
        try:
            if self.cancel.is_set():
                raise DependencyError("interrupted")
            self.work(name)
        except BaseException as exc:  # reported to the walk, never lost in a thread
            self.events.put((name, None, _message(exc)))
        else:
            self.events.put((name, None, None))
        finally:
            _SLOT.gate = None
            self.gate.release()

    def _wait(self, name: str, condition: DependencyCondition) -> None:
        try:
            self.wait_for(name, condition, self.cancel)
        except BaseException as exc:
            self.events.put((name, condition, _message(exc)))
        else:
            self.events.put((name, condition, ""))

    # -- the walk itself (one thread) ------------------------------------------------------
    def run(self) -> Outcome:
        from concurrent.futures import ThreadPoolExecutor  # with logging, ~3 ms: not on `run`

        with (
            ThreadPoolExecutor(
                max(1, len(self.states)), thread_name_prefix="compose-work"
            ) as workers,
            ThreadPoolExecutor(
                max(1, len(self.states)), thread_name_prefix="compose-wait"
            ) as waiters,
        ):
            self.workers, self.waiters = workers, waiters
            try:
                self._loop()
            except BaseException:
                self.cancel.set()  # interrupted: start nothing more, let running work finish
                self._skip_pending("interrupted")
                raise
        unmet = sorted({name for (name, _c), error in self.conditions.items() if error})
        return Outcome(
            dict(self.states), dict(self.reasons), tuple(self.warnings), tuple(unmet))

    def _loop(self) -> None:
        self._dispatch()
        while any(s in (NodeState.PENDING, NodeState.RUNNING) for s in self.states.values()):
            if self.cancel.is_set():
                self._skip_pending("interrupted")
            try:
                name, condition, error = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if condition is None:
                self._work_done(name, error)
            else:
                self.conditions[(name, condition)] = error or ""
            self._dispatch()

    def _work_done(self, name: str, error: str | None) -> None:
        if error is not None:
            self.states[name] = NodeState.FAILED
            self.reasons[name] = error
            return
        self.states[name] = NodeState.DONE
        needed = {e.condition for d in self.dependents[name] for e in self.edges[d]
                  if e.dependency == name}
        for condition in needed:
            if condition is DependencyCondition.STARTED:
                self.conditions[(name, condition)] = ""
            else:
                self.waiters.submit(self._wait, name, condition)

    def _edge_status(self, edge: Edge) -> str | None:
        """None: not known yet; "": satisfied; otherwise why it never will be."""
        state = self.states[edge.dependency]
        if state in (NodeState.FAILED, NodeState.SKIPPED):
            return self.reasons.get(edge.dependency) or state.value
        if state is not NodeState.DONE:
            return None
        return self.conditions.get((edge.dependency, edge.condition))

    def _dispatch(self) -> None:
        changed = True
        while changed:  # skipping one node may settle its dependents in the same pass
            changed = False
            for name, state in self.states.items():
                if state is not NodeState.PENDING or self.cancel.is_set():
                    continue
                verdict = self._verdict(name)
                if verdict is None:
                    continue
                if verdict == "":
                    self.states[name] = NodeState.RUNNING
                    self.workers.submit(self._run, name)
                else:
                    self.states[name] = NodeState.SKIPPED
                    self.reasons[name] = verdict
                    self.on_skip(name, verdict)
                    changed = True

    def _verdict(self, name: str) -> str | None:
        waiting = False
        for edge in self.edges[name]:
            status = self._edge_status(edge)
            if status is None:
                waiting = True
            elif status:
                if edge.required:
                    return f"dependency {edge.dependency} failed: {status}"
                warning = f"optional dependency {edge.dependency} of {name} failed: {status}"
                if warning not in self.warnings:
                    self.warnings.append(warning)
        return None if waiting else ""

    def _skip_pending(self, reason: str) -> None:
        for name, state in self.states.items():
            if state is NodeState.PENDING:
                self.states[name] = NodeState.SKIPPED
                self.reasons[name] = reason


def walk(
    nodes: Mapping[str, tuple[Edge, ...]],
    work: Work,
    wait_for: Waiter,
    *,
    parallel: int = DEFAULT_PARALLEL,
    cancel: threading.Event | None = None,
    on_skip: Skipped = lambda _n, _r: None,
) -> Outcome:
    """Run `work(name)` for every node, each as soon as its edges are satisfied.

    Edges to nodes outside `nodes` are ignored (the caller decides what is in the walk: `--no-deps`
    leaves dependencies out). Returns when nothing more can run; never raises for a node's
    failure (see `Outcome.failed`), only re-raises an interrupt after in-flight work finished.
    """
    return _Walk(nodes, work, wait_for, parallel, cancel or threading.Event(), on_skip).run()
