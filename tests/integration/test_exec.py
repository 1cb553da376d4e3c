"""`exec` on the real kernel: a process joins a running container's namespaces and root."""

from __future__ import annotations

import os
import secrets
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import ContainerSpec, Engine
from engine.cgroups import container_cgroup
from engine.errors import InvalidStateError
from engine.exec import ExecError
from tests.conftest import run_cli


@pytest.fixture
def running(engine_with_busybox: Engine) -> Iterator[tuple[Engine, str]]:
    """A long-running busybox container with env, workdir and a marker file of its own."""
    engine = engine_with_busybox
    name = f"exec-{secrets.token_hex(3)}"
    spec = ContainerSpec(
        name=name,
        image="busybox",
        command=("sh", "-c", "mkdir -p /srv && echo inside > /srv/marker && exec sleep 300"),
        env={"GREETING": "hello"},
        working_dir="/tmp",
    )
    info = engine.create_container(spec)
    engine.start_container(info.id)
    yield engine, name
    engine.remove_container(name, force=True)


def _wait_for_marker(engine: Engine, name: str) -> None:
    for _ in range(200):
        if engine.exec_in_container(name, ["test", "-e", "/srv/marker"]).exit_code == 0:
            return
    raise AssertionError("the container never wrote its marker")


def test_exec_sees_the_containers_filesystem_pids_and_hostname(
    running: tuple[Engine, str],
) -> None:
    engine, name = running
    _wait_for_marker(engine, name)
    info = engine.inspect(name)
    result = engine.exec_in_container(
        name,
        ["sh", "-c", "cat /srv/marker; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; pwd"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "inside"
    assert lines[1] == info.id[:12]
    assert lines[2].startswith("sleep 300")  # pid 1 is the container's init, not the host's
    assert lines[3] == "/tmp"  # the container's working_dir
    # the host's files are not visible
    marker = Path("/tmp") / f"pycompose-exec-host-{secrets.token_hex(4)}"
    marker.write_text("host")
    try:
        assert engine.exec_in_container(name, ["test", "-e", str(marker)]).exit_code == 1
    finally:
        marker.unlink()


def test_exec_env_workdir_user_and_exit_code(running: tuple[Engine, str]) -> None:
    engine, name = running
    result = engine.exec_in_container(
        name,
        ["sh", "-c", 'echo "$GREETING $EXTRA"; pwd; id -u; id -g; exit 7'],
        env={"EXTRA": "world"},
        workdir="/etc",
        user="nobody",
    )
    assert result.exit_code == 7
    assert result.output.splitlines() == ["hello world", "/etc", "65534", "65534"]


def test_exec_passes_stdin_and_merges_stderr(running: tuple[Engine, str]) -> None:
    engine, name = running
    payload = b"x" * 300_000 + b"\nEND\n"  # bigger than a pipe buffer both ways
    result = engine.exec_in_container(name, ["sh", "-c", "cat; echo oops >&2"], stdin=payload)
    assert result.exit_code == 0
    assert result.output.encode() == payload + b"oops\n"


def test_exec_process_is_in_the_containers_cgroup_and_network(
    running: tuple[Engine, str],
) -> None:
    engine, name = running
    info = engine.inspect(name)
    host_net = os.readlink("/proc/self/ns/net")
    result = engine.exec_in_container(name, ["sh", "-c", "readlink /proc/self/ns/net"])
    init_net = os.readlink(f"/proc/{info.state.pid}/ns/net")
    assert result.output.strip() == init_net != host_net
    cgroup = engine.exec_in_container(name, ["cat", "/proc/self/cgroup"]).output
    assert info.id[:64] not in cgroup  # cgroup namespace: the path is relative to the container


def test_unknown_command_and_bad_workdir_give_docker_exit_codes(
    running: tuple[Engine, str],
) -> None:
    engine, name = running
    missing = engine.exec_in_container(name, ["no-such-command"])
    assert missing.exit_code == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in missing.output
    with pytest.raises(ExecError) as caught:
        engine.exec_attached(name, ["no-such-command"], stdio=(0, 2, 2))
    assert caught.value.exit_code == 127
    bad_dir = engine.exec_in_container(name, ["true"], workdir="/no/such/dir")
    assert bad_dir.exit_code != 0 and "/no/such/dir" in bad_dir.output


def test_exec_in_a_stopped_container_is_a_clear_error(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    name = f"exec-stopped-{secrets.token_hex(3)}"
    engine.create_container(ContainerSpec(name=name, image="busybox", command=("true",)))
    try:
        with pytest.raises(InvalidStateError, match=f"container {name} is not running"):
            engine.exec_in_container(name, ["true"])
    finally:
        engine.remove_container(name, force=True)


def test_exec_leaves_no_process_behind(running: tuple[Engine, str]) -> None:
    engine, name = running
    _wait_for_marker(engine, name)  # the container's own start-up processes are done
    procs = container_cgroup(engine.inspect(name).id).dirs()[0] / "cgroup.procs"
    before = procs.read_text().split()
    for _ in range(5):
        assert engine.exec_in_container(name, ["true"]).exit_code == 0
    assert procs.read_text().split() == before  # no joiner or exec'd process left behind
    children = Path(f"/proc/self/task/{os.getpid()}/children")
    if children.exists():
        assert [pid for pid in children.read_text().split() if not _is_zygote(pid)] == []


def _is_zygote(pid: str) -> bool:
    """The engine's supervisor fork server is a (long-lived) child of this process."""
    try:
        return b"engine.supervisor_zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _read_available(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: no slave left open
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


COMPOSE = """
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo ready; exec sleep 300"]
    environment:
      ROLE: web
    networks: [front]
networks:
  front: {}
"""


def test_cli_exec_passes_exit_code_env_and_index(
    engine_with_busybox: Engine, engine_root: Path, tmp_path: Path
) -> None:
    project = f"ex{secrets.token_hex(3)}"
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    up = run_cli(["-p", project, "up", "-d"], cwd=tmp_path, root=engine_root)
    try:
        assert up.returncode == 0, up.stderr
        out = run_cli(
            ["-p", project, "exec", "-T", "-e", "EXTRA=1", "-w", "/etc", "web",
             "sh", "-c", 'echo "$ROLE $EXTRA $(pwd)"; exit 3'],
            cwd=tmp_path, root=engine_root,
        )
        assert out.returncode == 3, out.stderr
        assert out.stdout == "web 1 /etc\n"
        missing = run_cli(
            ["-p", project, "exec", "-T", "web", "nope"], cwd=tmp_path, root=engine_root
        )
        assert missing.returncode == 127
        assert "executable file not found" in missing.stderr
        no_index = run_cli(
            ["-p", project, "exec", "--index", "2", "web", "true"], cwd=tmp_path, root=engine_root
        )
        assert no_index.returncode == 1
        assert "service \"web\" is not running container #2" in no_index.stderr
        piped = subprocess.run(
            ["pycompose", "-p", project, "exec", "-T", "web", "sh", "-c", "tr a-z A-Z"],
            cwd=tmp_path, input="shout\n", capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYCOMPOSE_ROOT": str(engine_root)}, check=False,
        )
        assert (piped.returncode, piped.stdout) == (0, "SHOUT\n"), piped.stderr
        # from a terminal: a pty of the container's own devpts, as `docker compose exec` gives
        master, slave = os.openpty()
        try:
            with_tty = subprocess.run(
                ["pycompose", "-p", project, "exec", "web", "sh", "-c",
                 "test -t 0 && echo isatty; tty; echo TERM=$TERM; exit 4"],
                cwd=tmp_path, stdin=slave, stdout=slave, stderr=subprocess.PIPE, timeout=60,
                env={**os.environ, "PYCOMPOSE_ROOT": str(engine_root)}, check=False,
            )
            os.close(slave)
            slave = -1
            seen = _read_available(master)
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)
        assert with_tty.returncode == 4, with_tty.stderr
        assert seen.split() == ["isatty", "/dev/pts/0", "TERM=xterm"], seen
    finally:
        down = run_cli(["-p", project, "down", "-v"], cwd=tmp_path, root=engine_root)
        assert down.returncode == 0, down.stderr


def test_exec_is_no_more_privileged_than_the_container(running: tuple[Engine, str]) -> None:
    engine, name = running
    script = "grep -E '^(CapBnd|CapEff|CapPrm|Seccomp|NoNewPrivs):' /proc/{}/status"

    def status(pid: str) -> dict[str, str]:
        out = engine.exec_in_container(name, ["sh", "-c", script.format(pid)]).output
        return dict(line.split(":\t", 1) for line in out.splitlines())

    init, mine = status("1"), status("self")
    assert set(mine) == {"CapBnd", "CapEff", "CapPrm", "Seccomp", "NoNewPrivs"}
    assert mine == init
    host = dict(
        line.split(":\t", 1)
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("CapBnd")
    )
    assert mine["CapBnd"] != host["CapBnd"]  # the container's bounding set is narrower


def test_exec_with_a_tty_relays_through_a_container_pty(running: tuple[Engine, str]) -> None:
    engine, name = running
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        code = engine.exec_attached(
            name, ["sh", "-c", "test -t 1 && echo isatty; tty; exit 6"],
            stdio=(in_r, out_w, out_w), tty=True,
        )
        os.close(out_w)
        out_w = -1
        output = _read_available(out_r)
    finally:
        for fd in (in_r, in_w, out_r, out_w):
            if fd >= 0:
                os.close(fd)
    assert code == 6
    assert output.split() == ["isatty", "/dev/pts/0"]
