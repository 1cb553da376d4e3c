"""The built-in runtime on the real kernel: isolation, copy-on-write, limits, exit codes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.api import ContainerSpec, ContainerStatus, Engine, MountKind, MountSpec
from engine.errors import ContainerStartError, ImageNotFoundError


def run_to_exit(engine: Engine, spec: ContainerSpec, timeout: float = 30) -> tuple[int, str]:
    info = engine.create_container(spec)
    engine.start_container(info.id)
    code = engine.wait_container(info.id, timeout=timeout)
    output = "".join(line.text for line in engine.logs(info.id))
    assert code is not None, f"{spec.name} did not exit in {timeout}s; output so far: {output}"
    return code, output


def sh(name: str, script: str, **extra: object) -> ContainerSpec:
    return ContainerSpec(name=name, image="busybox", command=("sh", "-c", script), **extra)  # type: ignore[arg-type]


def test_container_sees_itself_as_pid_1_and_no_host_pids(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("pid", "echo self=$$; ls /proc | grep -c '^[0-9]'")
    )
    lines = out.split()
    assert code == 0
    assert lines[0] == "self=1"
    # pid 1 (sh), the ls and the grep: a handful, never the host's hundreds of pids
    assert int(lines[1]) <= 4


def test_hostname_is_the_container_id_prefix(engine_with_busybox: Engine) -> None:
    info = engine_with_busybox.create_container(sh("host", "hostname; cat /etc/hostname"))
    engine_with_busybox.start_container(info.id)
    assert engine_with_busybox.wait_container(info.id, timeout=30) == 0
    out = [line.text.strip() for line in engine_with_busybox.logs(info.id)]
    assert out == [info.id[:12], info.id[:12]]


def test_rootfs_is_isolated_from_the_host(engine_with_busybox: Engine, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"pycompose-host-marker-{tmp_path.name}"
    marker.write_text("host secret")
    try:
        code, out = run_to_exit(
            engine_with_busybox,
            sh(
                "iso", f"test -e {marker} && echo VISIBLE || echo hidden; ls /bin/busybox; ls /root"
            ),
        )
    finally:
        marker.unlink()
    assert code == 0
    assert "hidden" in out and "VISIBLE" not in out
    assert "/bin/busybox" in out


def test_writes_are_copy_on_write_per_container(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    code, _ = run_to_exit(
        engine, sh("writer", "echo changed > /etc/motd-test; echo x >> /etc/passwd")
    )
    assert code == 0
    code, out = run_to_exit(
        engine, sh("reader", "cat /etc/motd-test 2>&1; grep -c '^x$' /etc/passwd")
    )
    assert "No such file" in out
    assert out.split()[-1] == "0"
    image = engine.get_image("busybox")
    lower = engine.images.layer_paths(image)[0]
    assert not (lower / "etc" / "motd-test").exists()
    assert "x\n" not in (lower / "etc" / "passwd").read_text()


def test_memory_limit_is_set_in_the_cgroup_and_enforced(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    limit = 32 * 1024 * 1024
    from engine.cgroups import container_cgroup

    info = engine.create_container(sh("mem", "sleep 30", memory_limit=limit))
    engine.start_container(info.id)
    try:
        assert container_cgroup(info.id).memory_limit() == limit
    finally:
        engine.stop_container(info.id, timeout=0)
    # The container's main process needing far more than the limit is OOM-killed: exit code
    # 137 and OOMKilled, as Docker reports it.
    hog = ContainerSpec(
        name="hog", image="busybox", command=("tail", "/dev/zero"), memory_limit=limit
    )
    code, _ = run_to_exit(engine, hog)
    assert code == 137
    assert engine.inspect("hog").state.oom_killed


def test_exit_code_is_recorded(engine_with_busybox: Engine) -> None:
    code, _ = run_to_exit(engine_with_busybox, sh("exit3", "exit 3"))
    info = engine_with_busybox.inspect("exit3")
    assert code == 3
    assert info.status is ContainerStatus.EXITED
    assert info.state.exit_code == 3


def test_stop_sends_sigterm_then_sigkill(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    graceful = engine.create_container(
        sh("graceful", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    )
    engine.start_container(graceful.id)
    stubborn = engine.create_container(
        sh("stubborn", "trap '' TERM; while true; do sleep 0.1; done")
    )
    engine.start_container(stubborn.id)
    time.sleep(0.3)
    assert engine.stop_container(graceful.id, timeout=5).state.exit_code == 0
    started = time.monotonic()
    assert engine.stop_container(stubborn.id, timeout=0.5).state.exit_code == 137
    assert time.monotonic() - started < 10


def test_named_volume_data_outlives_the_container(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    mount = MountSpec(MountKind.VOLUME, "/data", "testvol")
    code, _ = run_to_exit(engine, sh("w", "echo kept > /data/f", mounts=(mount,)))
    assert code == 0
    engine.remove_container("w")
    code, out = run_to_exit(engine, sh("r", "cat /data/f", mounts=(mount,)))
    assert out.strip() == "kept"
    assert engine.volumes.get("testvol").mountpoint.joinpath("f").read_text() == "kept\n"


def test_a_missing_working_dir_is_made_as_docker_does(engine_with_busybox: Engine) -> None:
    code, output = run_to_exit(
        engine_with_busybox,
        sh("workdir", "pwd; stat -c '%U %a' .", working_dir="/app/sub", user="nobody"),
    )
    assert (code, output.split()) == (0, ["/app/sub", "root", "755"])


def test_bad_command_is_a_clear_start_error(engine_with_busybox: Engine) -> None:
    info = engine_with_busybox.create_container(
        ContainerSpec(name="nocmd", image="busybox", command=("/no/such/binary",))
    )
    with pytest.raises(ContainerStartError, match="no/such/binary"):
        engine_with_busybox.start_container(info.id)
    assert engine_with_busybox.inspect(info.id).status is ContainerStatus.CREATED


def test_unknown_image_is_refused_before_anything_is_made(engine_with_busybox: Engine) -> None:
    with pytest.raises(ImageNotFoundError, match="nosuchimage"):
        engine_with_busybox.create_container(ContainerSpec(name="x", image="nosuchimage"))
    assert engine_with_busybox.list_containers() == []


def test_stdin_open_keeps_stdin_open_and_inspect_shows_it(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    # Without stdin_open, stdin is empty and closed: `cat` ends at once.
    code, out = run_to_exit(engine, sh("closed", "cat; echo eof"))
    assert code == 0 and out.strip() == "eof"
    info = engine.create_container(sh("open", "cat; echo eof", stdin_open=True, tty=False))
    engine.start_container(info.id)
    try:
        time.sleep(0.5)
        assert engine.inspect(info.id).status is ContainerStatus.RUNNING  # cat still waits
        doc = engine.inspect_document("open")
        assert doc["Config"]["OpenStdin"] is True and doc["Config"]["Tty"] is False
        assert doc["State"]["Running"] is True
        assert doc["State"]["Pid"] == engine.inspect("open").state.pid
    finally:
        engine.stop_container(info.id, timeout=0)
    assert "eof" not in "".join(line.text for line in engine.logs(info.id))


def test_inspect_document_has_dockers_shape(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    spec = sh("doc", "exit 3", tty=True, memory_limit=32 << 20, cap_add=("NET_ADMIN",),
              restart_policy="on-failure:2", mounts=(MountSpec(MountKind.VOLUME, "/v", "docvol"),))
    info = engine.create_container(spec)
    created = engine.inspect_document(info.id)
    assert created["State"]["Status"] == "created" and created["Name"] == "/doc"
    assert created["Path"] == "sh" and created["Args"] == ["-c", "exit 3"]
    assert created["Config"]["Tty"] is True and created["Config"]["OpenStdin"] is False
    assert created["HostConfig"]["Memory"] == 32 << 20
    assert created["HostConfig"]["CapAdd"] == ["NET_ADMIN"]
    assert created["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                      "MaximumRetryCount": 2}
    assert created["Mounts"][0]["Name"] == "docvol"
    assert created["Mounts"][0]["Source"] == str(engine.volumes.get("docvol").mountpoint)
    assert any(e.startswith("HOSTNAME=") for e in created["Config"]["Env"])


# ---- as a user types it ---------------------------------------------------------------------
from tests.e2e.test_orchestration import Stack, root, stack  # noqa: E402, F401


def test_tty_service_gets_a_terminal_and_inspect_says_so(stack: Stack) -> None:  # noqa: F811
    import json

    stack.write({"term": """
image: busybox
command: ["sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo is-a-tty; tty; exec sleep 300"]
stop_grace_period: 0s
tty: true
stdin_open: true
"""})
    stack.ok("up", "-d")
    name = f"{stack.name}-term-1"
    out = ""
    for _attempt in range(100):  # bounded: the first lines appear right after start
        out = stack.ok("logs", "--no-log-prefix", "term").stdout
        if "/dev/" in out:
            break
        time.sleep(0.05)
    assert out.split()[:2] == ["is-a-tty", "/dev/pts/0"], out
    doc = json.loads(stack.ok("container", "inspect", name).stdout)[0]
    assert doc["Config"]["Tty"] is True and doc["Config"]["OpenStdin"] is True
    assert doc["State"]["Status"] == "running" and doc["Name"] == f"/{name}"
    missing = stack.cli("container", "inspect", "no-such-container")
    assert missing.returncode != 0 and "no-such-container" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_logs_since_through_the_cli(stack: Stack) -> None:  # noqa: F811
    stack.write({"say": 'image: busybox\ncommand: ["echo", "said-it"]\n'})
    stack.ok("up")
    assert "said-it" in stack.ok("logs", "--since", "1h", "say").stdout
    assert "said-it" not in stack.ok("logs", "--since", "2999-01-01T00:00:00Z", "say").stdout
    bad = stack.cli("logs", "--since", "yesterday-ish", "say")
    assert bad.returncode != 0 and "since" in bad.stderr and "Traceback" not in bad.stderr
    assert "said-it" in stack.ok("logs", "--until", "2999-01-01T00:00:00Z", "say").stdout
    assert "said-it" not in stack.ok("logs", "--until", "1h", "say").stdout  # an hour ago
    bad = stack.cli("logs", "--until", "soonish", "say")
    assert bad.returncode != 0 and "until" in bad.stderr and "Traceback" not in bad.stderr
