"""Healthchecks run by the supervisor, inside the container (like `docker exec`).

A probe is the container's own process settings (user, env, cwd) with the test as argv, started
through `engine.exec` (setns into the init's cgroup, ipc, uts, net, pid and mount namespaces).
Docker's state machine: `starting` until the first success (failures inside `start_period` do
not count), `healthy` after a success, `unhealthy` after `retries` consecutive failures; a
probe running longer than `timeout` is killed and counts as a failure. The last five results
are kept in the container state.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.cgroups import Cgroup
from engine.runtime_spec import HealthcheckConfig, ProcessSpec, RuntimeSpec

MAX_OUTPUT = 4096
KEEP_RESULTS = 5


@dataclass(frozen=True)
class ProbeResult:
    """One healthcheck probe, kept (the last five) in the container state in Docker's
    State.Health.Log shape, so `container inspect` and Stack's not-ready errors can show why."""

    start: str
    end: str
    exit_code: int
    output: str

    def to_json(self) -> dict[str, Any]:
        return {"Start": self.start, "End": self.end, "ExitCode": self.exit_code,
                "Output": self.output}


def probe_argv(test: tuple[str, ...]) -> tuple[str, ...]:
    if test[0] == "CMD-SHELL":
        return ("/bin/sh", "-c", test[1])
    return tuple(test[1:])


def _kill_probe(joiner: int) -> None:
    """Kill the probe itself (the joiner's child, inside the container), so the joiner reaps
    it and exits: killing the joiner first would hand the probe's zombie to the supervisor
    (a child subreaper) instead. Before the joiner has forked, kill the joiner."""
    try:
        with open(f"/proc/{joiner}/task/{joiner}/children", encoding="ascii") as handle:
            children = [int(c) for c in handle.read().split()]
    except OSError:
        children = []
    for pid in children or [joiner]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _in_child_pid_namespace(pid: int) -> bool:
    """NSpid lists the pid in every nested namespace: two or more -> inside a container's
    (works for zombies too, whose /proc/<pid>/ns links are already gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return len(line.split()) > 2
    except OSError:
        pass
    return False


def _reap_adopted(init_pid: int) -> None:
    """The supervisor is a child subreaper: a probe process orphaned inside the container (its
    joiner killed before it could reap it) is re-parented to us, and its zombie would keep the
    container's pid namespace from ever finishing. Kill and reap any such child: nothing else
    waits for it. Only children inside a container pid namespace are touched, never init."""
    children: list[int] = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                children.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    for child in children:
        if child == init_pid or not _in_child_pid_namespace(child):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)


def run_probe(
    name: str, spec: RuntimeSpec, init_pid: int, init_start: int | None, cgroup: Cgroup,
    check: HealthcheckConfig,
) -> ProbeResult:
    from engine.containers import now_rfc3339
    from engine.exec import ExecError, ExecTarget, start_exec

    begin = now_rfc3339()
    target = ExecTarget(name, init_pid, init_start, cgroup)
    proc = spec.process
    process = ProcessSpec(probe_argv(check.test), proc.env, proc.cwd, proc.uid, proc.gid,
                          proc.extra_gids)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.close(in_w)
    try:
        running = start_exec(target, spec, process, (in_r, out_w, out_w))
    except Exception as exc:  # the container vanished: a failed probe, reported as such
        for fd in (in_r, out_r, out_w):
            os.close(fd)
        return ProbeResult(begin, now_rfc3339(), -1, str(exc))
    os.close(in_r)
    os.close(out_w)
    output = b""
    timed_out = False
    deadline = time.monotonic() + check.timeout
    with selectors.DefaultSelector() as selector:
        selector.register(out_r, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                _kill_probe(running.pid)
                break
            if not selector.select(remaining):
                continue
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            output = (output + chunk)[:MAX_OUTPUT]
    os.close(out_r)
    try:
        code = running.wait()
    except ExecError as exc:
        code, output = exc.exit_code, output + str(exc).encode()
    _reap_adopted(init_pid)
    if timed_out:
        return ProbeResult(begin, now_rfc3339(), -1,
                           f"Health check exceeded timeout ({check.timeout:g}s)")
    return ProbeResult(begin, now_rfc3339(), code, output.decode(errors="replace"))


class HealthMonitor(threading.Thread):
    """Probes on a schedule until `stop()`; writes every outcome through `update_state`."""

    def __init__(
        self,
        name: str,
        spec: RuntimeSpec,
        check: HealthcheckConfig,
        init_pid: int,
        init_start: int | None,
        cgroup: Cgroup,
        update_state: Callable[..., Any],
        is_paused: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(name=f"health-{name}", daemon=True)
        self.container_name = name
        self.spec = spec
        self.check = check
        self.init_pid = init_pid
        self.init_start = init_start
        self.cgroup = cgroup
        self.update_state = update_state
        self.is_paused = is_paused
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=self.check.timeout + 5)

    def run(self) -> None:
        started = time.monotonic()
        status, streak = "starting", 0
        results: list[dict[str, Any]] = []
        self.update_state(health_status=status, health_failing_streak=0, health_log=[])
        while True:
            in_start_period = time.monotonic() - started < self.check.start_period
            delay = self.check.start_interval if in_start_period and status == "starting" \
                else self.check.interval
            if self._stopped.wait(delay):
                return
            if self.is_paused():  # a probe would freeze with the container: skip, like Docker
                continue
            result = run_probe(self.container_name, self.spec, self.init_pid, self.init_start,
                               self.cgroup, self.check)
            if self._stopped.is_set():
                return
            in_start_period = time.monotonic() - started < self.check.start_period
            if result.exit_code == 0:
                status, streak = "healthy", 0
            elif not (in_start_period and status == "starting"):
                streak += 1
                if streak >= self.check.retries:
                    status = "unhealthy"
            results = [*results, result.to_json()][-KEEP_RESULTS:]
            self.update_state(health_status=status, health_failing_streak=streak,
                              health_log=list(results))
