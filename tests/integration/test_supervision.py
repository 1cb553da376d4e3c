"""Supervision as Docker does it: restart policies (and a stop that the restart loop must not
fight), healthchecks, init as pid 1, tty, logs (tail, since, rotation), stop grace period."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from engine.api import ContainerStatus, Engine
from engine.runtime_spec import HealthcheckConfig
from tests.integration.runtime_helpers import output_of, run_to_exit, sh


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_on_failure_2_restarts_exactly_twice(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(sh("onfail", "echo run; exit 3", restart_policy="on-failure:2"))
    engine.start_container(info.id)
    assert engine.wait_container(info.id, timeout=30) == 3
    state = engine.inspect(info.id).state
    assert state.restart_count == 2
    assert state.status is ContainerStatus.EXITED
    assert output_of(engine, info.id).split() == ["run", "run", "run"]  # logs survive restarts


def test_on_failure_does_not_restart_a_success(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(sh("onok", "echo run", restart_policy="on-failure"))
    engine.start_container(info.id)
    assert engine.wait_container(info.id, timeout=30) == 0
    assert engine.inspect(info.id).state.restart_count == 0


def test_always_restarts_until_stopped_and_stop_is_not_fought(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(sh("always", "echo run; sleep 0.2", restart_policy="always"))
    engine.start_container(info.id)
    assert wait_for(lambda: engine.inspect(info.id).state.restart_count >= 2)
    stopped = engine.stop_container(info.id, timeout=5)
    assert stopped.state.status is ContainerStatus.EXITED
    count = stopped.state.restart_count
    time.sleep(1.0)  # longer than the back-off so far: nothing may come back
    after = engine.inspect(info.id)
    assert after.state.status is ContainerStatus.EXITED
    assert after.state.restart_count == count
    assert after.state.supervisor_pid is not None
    # start again: the policy applies again
    engine.start_container(info.id)
    assert engine.inspect(info.id).state.stop_requested is False
    engine.stop_container(info.id, timeout=5)


def test_unless_stopped_restarts_a_crashed_container_but_not_a_killed_one(
    engine_with_busybox: Engine,
) -> None:
    import os
    import signal

    engine = engine_with_busybox
    info = engine.create_container(sh("unless", "sleep 30", restart_policy="unless-stopped"))
    engine.start_container(info.id)
    first = engine.inspect(info.id).state.pid
    assert first
    os.kill(first, signal.SIGKILL)  # the process dies on its own (OOM, crash...): restarted
    assert wait_for(lambda: engine.inspect(info.id).state.restart_count == 1
                    and engine.inspect(info.id).state.status is ContainerStatus.RUNNING)
    assert engine.inspect(info.id).state.pid != first
    engine.kill_container(info.id, "SIGKILL")  # `kill` is a manual stop, as in Docker
    assert engine.wait_container(info.id, timeout=10) == 137
    time.sleep(0.5)
    state = engine.inspect(info.id).state
    assert state.status is ContainerStatus.EXITED and state.restart_count == 1


def test_healthcheck_turns_healthy_then_unhealthy(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    check = HealthcheckConfig(
        test=("CMD-SHELL", "test -e /tmp/ok && echo fine"), interval=0.2, timeout=2,
        retries=2, start_period=0, start_interval=0.2,
    )
    info = engine.create_container(sh("health", "touch /tmp/ok; sleep 1.5; rm /tmp/ok; sleep 30",
                                      healthcheck=check))
    engine.start_container(info.id)
    try:
        assert engine.inspect(info.id).state.health_status in ("starting", "healthy")
        assert wait_for(lambda: engine.inspect(info.id).state.health_status == "healthy")
        last = engine.inspect(info.id).state.health_log[-1]
        assert last["ExitCode"] == 0 and last["Output"] == "fine\n"
        assert wait_for(lambda: engine.inspect(info.id).state.health_status == "unhealthy")
        state = engine.inspect(info.id).state
        assert state.health_failing_streak >= 2
        assert state.health_log[-1]["ExitCode"] == 1
        assert len(state.health_log) <= 5
    finally:
        engine.stop_container(info.id, timeout=1)


def test_healthcheck_runs_in_the_containers_namespaces_with_timeout(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    check = HealthcheckConfig(
        test=("CMD", "sh", "-c", "hostname; cat /marker; sleep 10"), interval=0.2, timeout=0.5,
        retries=1, start_interval=0.2,
    )
    info = engine.create_container(sh("hns", "echo in-container > /marker; sleep 30",
                                      hostname="probe-host", healthcheck=check))
    engine.start_container(info.id)
    try:
        assert wait_for(lambda: engine.inspect(info.id).state.health_status == "unhealthy")
        last = engine.inspect(info.id).state.health_log[-1]
        assert last["ExitCode"] == -1
        assert "exceeded timeout" in last["Output"]
    finally:
        engine.stop_container(info.id, timeout=1)
    # the killed probe left no process behind: the container's cgroup is gone entirely
    from engine.cgroups import container_cgroup

    assert not any(path.exists() for path in container_cgroup(info.id).dirs())


def test_healthcheck_output_comes_from_inside(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    check = HealthcheckConfig(test=("CMD-SHELL", "hostname; cat /tmp/marker; id -u"),
                              interval=0.2, timeout=2, start_interval=0.2)
    info = engine.create_container(sh("hout", "echo in-container > /tmp/marker; sleep 30",
                                      hostname="probe-host", user="65534",
                                      healthcheck=check))
    engine.start_container(info.id)
    try:
        assert wait_for(lambda: engine.inspect(info.id).state.health_status == "unhealthy"
                        or engine.inspect(info.id).state.health_status == "healthy")
        last = engine.inspect(info.id).state.health_log[-1]
        assert last["Output"].split() == ["probe-host", "in-container", "65534"]
    finally:
        engine.stop_container(info.id, timeout=1)


def test_init_reaps_zombies_and_forwards_signals(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    # sh execs into sleep... make orphans: a background child whose parent exits at once.
    script = (
        "trap 'echo got-term; exit 7' TERM; (sleep 0.1 &) ; sleep 0.5; "
        "grep -l Z /proc/[0-9]*/stat 2>/dev/null | wc -l; echo pid=$$; "
        "while true; do sleep 0.1; done"
    )
    info = engine.create_container(sh("initc", script, init=True))
    engine.start_container(info.id)
    assert wait_for(lambda: "pid=" in output_of(engine, info.id))
    stopped = engine.stop_container(info.id, timeout=5)
    out = output_of(engine, info.id)
    assert "pid=2" in out  # the command is not pid 1: init is
    assert out.split()[0] == "0"  # no zombie: the orphaned sleep was reaped by init
    assert "got-term" in out  # SIGTERM forwarded
    assert stopped.state.exit_code == 7


def test_without_init_the_command_is_pid_1(engine_with_busybox: Engine) -> None:
    _code, out = run_to_exit(engine_with_busybox, sh("noinit", "echo pid=$$"))
    assert out.strip() == "pid=1"


def test_tty(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("tty", "test -t 0 && test -t 1 && echo is-a-tty; echo err >&2",
                                tty=True)
    )
    assert code == 0
    assert "is-a-tty" in out and "err" in out
    streams = {line.stream for line in engine_with_busybox.logs("tty")}
    assert streams == {"stdout"}  # a tty is one stream, as in Docker


def test_stop_grace_period_is_respected(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(
        sh("grace", "trap 'echo term' TERM; while true; do sleep 0.1; done", stop_timeout=1.0)
    )
    engine.start_container(info.id)
    time.sleep(0.3)
    began = time.monotonic()
    stopped = engine.stop_container(info.id)
    took = time.monotonic() - began
    assert stopped.state.exit_code == 137
    assert 0.9 <= took < 5.0, took
    assert "term" in output_of(engine, info.id)


def test_stop_signal(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(
        sh("sig", "trap 'echo usr1; exit 0' USR1; while true; do sleep 0.1; done",
           stop_signal="SIGUSR1")
    )
    engine.start_container(info.id)
    time.sleep(0.3)
    stopped = engine.stop_container(info.id, timeout=5)
    assert stopped.state.exit_code == 0
    assert "usr1" in output_of(engine, info.id)


def test_logs_tail_since_and_rotation(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    script = "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"
    info = engine.create_container(sh("rot", script, log_max_size=4096, log_max_file=3))
    engine.start_container(info.id)
    assert engine.wait_container(info.id, timeout=30) == 0
    files = sorted(p.name for p in info.log_path.parent.glob(info.log_path.name + "*"))
    assert files == [info.log_path.name, info.log_path.name + ".1", info.log_path.name + ".2"]
    for path in info.log_path.parent.glob(info.log_path.name + "*"):
        assert path.stat().st_size <= 4096
    lines = [line.text.strip() for line in engine.logs(info.id)]
    assert lines[-1] == "line-199-xxxxxxxxxxxxxxxxxxxxxxxx"
    numbers = [int(t.split("-")[1]) for t in lines]
    assert numbers == list(range(numbers[0], 200))  # oldest rotated away, rest in order
    assert numbers[0] > 0
    tail = [line.text.strip() for line in engine.logs(info.id, tail=2)]
    assert [t.split("-")[1] for t in tail] == ["198", "199"]
    assert list(engine.logs(info.id, since="2999-01-01T00:00:00Z")) == []
    assert len(list(engine.logs(info.id, since="1h"))) == len(lines)


# ---- as a user types it: a stack file through the CLI ----------------------------------------
from tests.e2e.test_orchestration import Stack, root, stack  # noqa: E402, F401

RUNTIME_SERVICE = """
image: busybox
command:
  - sh
  - -c
  - grep CapBnd /proc/self/status; cat /sys/fs/cgroup/pids/pids.max; id -u; sleep 300
cap_drop: [ALL]
cap_add: [KILL]
user: nobody
init: true
stop_grace_period: 1s
deploy:
  resources:
    limits: {pids: 33}
healthcheck:
  test: ["CMD-SHELL", "test $$(id -u) = 65534"]
  interval: 200ms
  start_interval: 200ms
"""


def test_stack_options_pause_and_health_through_the_cli(stack: Stack) -> None:  # noqa: F811
    from engine.api import Engine

    stack.write({"app": RUNTIME_SERVICE})
    stack.ok("up", "-d")
    engine = Engine(stack.root)
    name = f"{stack.name}-app-1"
    assert wait_for(lambda: engine.inspect(name).state.health_status == "healthy")
    out = output_of(engine, name).split()
    assert out[:2] == ["CapBnd:", f"{1 << 5:016x}"]  # KILL only (nobody: CapEff is 0)
    if (Path("/sys/fs/cgroup/pids")).is_dir():
        assert out[2] == "33"
    assert out[-1] == "65534"
    paused = stack.ok("pause")
    assert f"Container {name}  Paused" in paused.stderr
    assert engine.inspect(name).state.paused
    stack.ok("unpause")
    assert not engine.inspect(name).state.paused
    stack.ok("stop")
    assert engine.inspect(name).state.status is ContainerStatus.EXITED


def test_a_killed_supervisor_takes_its_container_with_it(engine_with_busybox: Engine) -> None:
    import os
    import signal

    from engine.processes import is_alive

    engine = engine_with_busybox
    info = engine.create_container(sh("orphan", "sleep 300"))
    state = engine.start_container(info.id).state
    assert state.supervisor_pid and state.pid
    # no resident stage1: init is the supervisor's own child
    with open(f"/proc/{state.pid}/stat", encoding="ascii") as handle:
        parent = int(handle.read().rsplit(")", 1)[1].split()[1])
    assert parent == state.supervisor_pid
    os.kill(state.supervisor_pid, signal.SIGKILL)
    assert wait_for(lambda: not is_alive(state.pid, state.pid_start), timeout=5)
    after = engine.inspect(info.id).state
    assert after.status is ContainerStatus.EXITED
    # as `ps` shows it: exited 255 when it was found dead, not "Exited (255)  ago"
    assert after.exit_code == 255 and after.finished_at and after.ports == ()


def test_pid_host_keeps_stage1_and_still_works(engine_with_busybox: Engine) -> None:
    code, _out = run_to_exit(engine_with_busybox, sh("pidhost2", "exit 5", pid_mode="host"))
    assert code == 5


def test_orphaned_probe_processes_are_reaped_by_the_supervisor() -> None:
    """The situation a killed probe joiner leaves: a process inside a container's pid namespace
    re-parented to the (subreaper) supervisor. It must be killed and reaped, init left alone."""
    import os
    import signal

    from engine import syscalls as sc
    from engine.healthcheck import _reap_adopted

    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    ready_r, ready_w = os.pipe()
    middle = os.fork()
    if middle == 0:  # the "joiner": new pid namespace, an init and a probe, then it dies
        try:
            sc.unshare(sc.CLONE_NEWPID)
            pids = []
            for _ in range(2):
                child = os.fork()
                if child == 0:
                    os.execvp("sleep", ["sleep", "30"])
                pids.append(child)
            os.write(ready_w, f"{pids[0]} {pids[1]}".encode())
        finally:
            os._exit(0)
    os.close(ready_w)
    init_pid, probe_pid = (int(p) for p in os.read(ready_r, 100).split())
    os.close(ready_r)
    os.waitpid(middle, 0)
    try:
        assert wait_for(lambda: f"{probe_pid}" in open(  # noqa: SIM115
            f"/proc/{os.getpid()}/task/{os.getpid()}/children", encoding="ascii").read().split())
        _reap_adopted(init_pid)
        assert not os.path.exists(f"/proc/{probe_pid}")  # killed and reaped: no zombie left
        assert os.path.exists(f"/proc/{init_pid}")
    finally:
        os.kill(init_pid, signal.SIGKILL)
        os.waitpid(init_pid, 0)
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 0)


def _process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat ("Z" for a zombie), None once the pid is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return raw.rsplit(b")", 1)[1].split()[0].decode()


def test_a_supervisor_is_detached_and_outlives_the_fork_server(
    engine_with_busybox: Engine,
) -> None:
    """The fork server forks each supervisor once and never waits for it: the supervisor must
    still be in a session of its own (terminal signals of the CLI's session never reach it),
    keep its container after the fork server is gone, and one that ends while the fork server
    runs must not linger as a zombie."""
    import os

    from engine.supervisor_spawner import SPAWNER

    engine = engine_with_busybox
    quick = engine.create_container(sh("detachquick", "true", network_mode="none"))
    engine.start_container(quick.id)
    assert engine.wait_container(quick.id, timeout=30) == 0
    quick_supervisor = engine.inspect(quick.id).state.supervisor_pid
    assert quick_supervisor
    assert wait_for(lambda: _process_state(quick_supervisor) in (None, "X"), timeout=1), (
        f"supervisor {quick_supervisor} left as {_process_state(quick_supervisor)}"
    )

    info = engine.create_container(sh("detached", "sleep 300", network_mode="none"))
    supervisor = engine.start_container(info.id).state.supervisor_pid
    assert supervisor
    assert os.getsid(supervisor) == supervisor != os.getsid(0)
    SPAWNER.close()  # the fork server exits now instead of after its idle time
    time.sleep(0.2)
    assert _process_state(supervisor) not in (None, "Z")
    assert engine.inspect(info.id).status is ContainerStatus.RUNNING
    stopped = engine.stop_container(info.id, timeout=0)
    assert stopped.status is ContainerStatus.EXITED
