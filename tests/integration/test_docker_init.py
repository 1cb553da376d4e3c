"""`init: true` as Docker runs it: the host's tini bind-mounted read-only at /sbin/docker-init is
the container's pid 1 (`docker-init -- CMD`), and every promise of an init holds — as seen from
inside the container — both with tini and with the built-in init kept for hosts without tini."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from engine import docker_init
from engine.api import ContainerStatus, Engine
from tests.integration.runtime_helpers import output_of, run_to_exit, sh, status_field

CMDLINE = "tr '\\0' ' ' < /proc/1/cmdline; echo"

needs_tini = pytest.mark.skipif(
    docker_init.find_init_binary() is None, reason="no static tini (Debian package tini) here"
)


@pytest.fixture(params=["tini", "builtin"])
def init_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each init promise is checked with tini and with the built-in fallback (no tini found)."""
    monkeypatch.delenv(docker_init.ENV_OVERRIDE, raising=False)
    if request.param == "tini":
        if docker_init.find_init_binary() is None:
            pytest.skip("no static tini (Debian package tini) here")
    else:
        monkeypatch.setattr(docker_init, "CANDIDATES", ())
    yield request.param


def _wait_for_output(engine: Engine, name: str, marker: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = output_of(engine, name)
        if marker in out:
            return out
        time.sleep(0.05)
    raise AssertionError(f"{marker!r} never appeared; output: {output_of(engine, name)!r}")


@needs_tini
def test_pid_1_is_docker_init_running_the_command(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("tinipid", f"{CMDLINE}; echo self=$$; ps -o pid,args", init=True)
    )
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("/sbin/docker-init -- sh -c tr "), out
    assert lines[1] == "self=2"  # tini's child, as under Docker
    ps_first = next(line for line in lines[2:] if line.split()[0] == "1")
    assert ps_first.split()[1] == "/sbin/docker-init"


def test_without_tini_the_builtin_init_is_pid_1(
    engine_with_busybox: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(docker_init.ENV_OVERRIDE, "")  # like an empty dockerd --init-path
    code, out = run_to_exit(
        engine_with_busybox, sh("pyinit", f"{CMDLINE}; echo self=$$; ls /sbin/docker-init",
                                init=True)
    )
    assert code != 0, out  # no /sbin/docker-init in the container
    assert "docker-init" not in out.splitlines()[0]
    assert "self=2" in out


def test_init_reaps_zombies(engine_with_busybox: Engine, init_kind: str) -> None:
    # Orphans: each background sleep's parent subshell exits at once, so init inherits it.
    script = (
        "for i in 1 2 3; do (sleep 0.1 &); done; sleep 0.6; "
        "echo zombies=$(grep -l ') Z' /proc/[0-9]*/stat 2>/dev/null | wc -l)"
    )
    code, out = run_to_exit(engine_with_busybox, sh(f"reap-{init_kind}", script, init=True))
    assert code == 0, out
    assert "zombies=0" in out


def test_stop_forwards_sigterm_and_passes_the_exit_code(
    engine_with_busybox: Engine, init_kind: str
) -> None:
    engine = engine_with_busybox
    info = engine.create_container(sh(
        f"term-{init_kind}", "trap 'echo got-term; exit 7' TERM; echo ready; "
        "while true; do sleep 0.1; done", init=True,
    ))
    engine.start_container(info.id)
    _wait_for_output(engine, info.id, "ready")
    # A long grace period: only a forwarded SIGTERM ends it with 7 (SIGKILL would give 137).
    stopped = engine.stop_container(info.id, timeout=60)
    assert stopped.state.status is ContainerStatus.EXITED
    assert stopped.state.exit_code == 7
    assert "got-term" in output_of(engine, info.id)


@pytest.mark.parametrize(("script", "expected"), [("exit 42", 42), ("kill -TERM $$", 143)])
def test_exit_code_passthrough(
    engine_with_busybox: Engine, init_kind: str, script: str, expected: int
) -> None:
    name = f"code{expected}-{init_kind}"
    code, out = run_to_exit(engine_with_busybox, sh(name, script, init=True))
    assert code == expected, out


@needs_tini
def test_read_only_rootfs_with_init(engine_with_busybox: Engine) -> None:
    script = f"{CMDLINE}; touch /x 2>/dev/null && echo wrote || echo read-only; " \
             "touch /sbin/docker-init 2>/dev/null && echo init-writable || echo init-ro"
    code, out = run_to_exit(engine_with_busybox, sh("tiniro", script, init=True, read_only=True))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("/sbin/docker-init -- sh -c")
    assert lines[1:] == ["read-only", "init-ro"]


@needs_tini
def test_docker_init_runs_as_the_user_and_confined(engine_with_busybox: Engine) -> None:
    """As under runc: docker-init gets the container's user, capabilities, no_new_privs and
    seccomp filter (it is just the process Docker asks the runtime to exec)."""
    script = "grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp)' /proc/1/status; pwd"
    code, out = run_to_exit(engine_with_busybox, sh(
        "tiniuser", script, init=True, user="nobody", working_dir="/tmp",
        security_opt=("no-new-privileges:true",),
    ))
    assert code == 0, out
    assert status_field(out, "Uid").split()[0] == "65534"
    assert status_field(out, "CapEff") == "0000000000000000"
    assert status_field(out, "NoNewPrivs") == "1"
    assert status_field(out, "Seccomp") == "2"
    assert out.splitlines()[-1] == "/tmp"


@needs_tini
def test_exec_and_top_with_docker_init(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(sh("tiniexec", "echo ready; sleep 300", init=True))
    engine.start_container(info.id)
    try:
        _wait_for_output(engine, info.id, "ready")
        result = engine.exec_in_container(info.id, ["sh", "-c", "echo pid=$$; cat /proc/1/comm"])
        assert result.exit_code == 0, result.output
        assert result.output.split()[1] == "docker-init"  # /proc/1/comm, as under Docker
        from compose.cli.misc_cmds import container_processes  # what `pycompose top` prints

        pid = engine.inspect(info.id).state.pid
        assert pid is not None
        commands = [row[-1] for row in container_processes(pid)]
        assert commands[0] == "/sbin/docker-init -- sh -c echo ready; sleep 300", commands
        assert "sleep 300" in commands[1:], commands
    finally:
        stopped = engine.stop_container(info.id, timeout=60)
    assert stopped.state.exit_code == 143  # sh -c exec'd sleep: SIGTERM kills it, tini says so


@needs_tini
def test_pid_host_makes_docker_init_a_subreaper(engine_with_busybox: Engine) -> None:
    """Not pid 1 there: `-s` keeps orphans coming to docker-init (and tini's warning away)."""
    script = "tr '\\0' ' ' < /proc/$PPID/cmdline; echo"
    code, out = run_to_exit(
        engine_with_busybox, sh("tinihost", script, init=True, pid_mode="host")
    )
    assert code == 0, out
    assert out.startswith("/sbin/docker-init -s -- sh -c"), out
    assert "WARN" not in out


@needs_tini
def test_a_missing_command_exits_127_with_tinis_message(engine_with_busybox: Engine) -> None:
    """As `docker run --init`: docker-init starts, its exec of the command fails, 127."""
    from engine.containers import ContainerSpec

    spec = ContainerSpec(name="tinimissing", image="busybox", command=("no-such-cmd",), init=True)
    code, out = run_to_exit(engine_with_busybox, spec)
    assert code == 127
    assert "exec no-such-cmd failed: No such file or directory" in out


def test_a_killed_supervisor_takes_an_init_container_with_it(
    engine_with_busybox: Engine, init_kind: str
) -> None:
    """Even when init runs as a user (tini does, the built-in init stays root): switching user
    clears the parent-death signal, which must be set again."""
    import os
    import signal

    from engine.processes import is_alive

    engine = engine_with_busybox
    info = engine.create_container(
        sh(f"orphan-{init_kind}", "echo ready; sleep 300", init=True, user="nobody")
    )
    state = engine.start_container(info.id).state
    assert state.supervisor_pid and state.pid
    _wait_for_output(engine, info.id, "ready")
    os.kill(state.supervisor_pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_alive(state.pid, state.pid_start) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = is_alive(state.pid, state.pid_start)
    if alive:
        os.kill(state.pid, signal.SIGKILL)  # no leak whatever happens
    assert not alive
    assert engine.inspect(info.id).state.status is ContainerStatus.EXITED


@needs_tini
def test_commit_leaves_the_docker_init_mount_point_out(engine_with_busybox: Engine) -> None:
    import tarfile

    engine = engine_with_busybox
    code, _out = run_to_exit(engine, sh("tinicommit", "echo kept > /kept", init=True))
    assert code == 0
    blob = engine.commit_container("tinicommit")
    with tarfile.open(engine.images.content.path(blob.digest)) as layer:
        names = layer.getnames()
    assert "kept" in names
    assert not any(name.endswith("docker-init") for name in names), names


def test_tty_with_init(engine_with_busybox: Engine, init_kind: str) -> None:
    """The command still owns the terminal (tini puts it in its own foreground group)."""
    code, out = run_to_exit(engine_with_busybox, sh(
        f"tinitty-{init_kind}", "test -t 0 && test -t 1 && echo is-a-tty; exit 3",
        init=True, tty=True,
    ))
    assert code == 3, out
    assert "is-a-tty" in out
