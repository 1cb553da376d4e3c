"""Resource limits as the container sees them: its own cgroup files (mounted read-only at
/sys/fs/cgroup, cgroup namespace as root), a fork bomb stopped by pids_limit, the freezer."""

from __future__ import annotations

import errno
import os
import stat
import time
import uuid
from pathlib import Path

import pytest

from engine.api import Engine
from engine.cgroups import (
    DEFAULT_DEVICE_RULES,
    Cgroup,
    CgroupVersion,
    Limits,
    container_cgroup,
    detect_version,
)
from engine.errors import ContainerStartError, InvalidArgumentError
from tests.integration.runtime_helpers import cgroup2_mount, output_of, run_to_exit, sh

V1 = detect_version() is CgroupVersion.V1


@pytest.mark.skipif(not V1, reason="paths below are the v1 layout")
def test_cgroup_files_hold_the_limits_v1(engine_with_busybox: Engine) -> None:
    script = (
        "cd /sys/fs/cgroup; cat cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares "
        "pids/pids.max cpuset/cpuset.cpus memory/memory.limit_in_bytes "
        "memory/memory.soft_limit_in_bytes memory/memory.memsw.limit_in_bytes; "
        "grep oom_kill_disable memory/memory.oom_control; "
        "echo 1 > pids/pids.max; echo write=$?"
    )
    code, out = run_to_exit(
        engine_with_busybox,
        sh("limits", script, cpus=0.5, cpu_shares=512, pids_limit=64, cpuset_cpus="0",
           memory_limit=64 * 1024 * 1024, mem_reservation=32 * 1024 * 1024,
           memswap_limit=96 * 1024 * 1024, oom_kill_disable=True),
    )
    assert code == 0, out
    values = out.split("\n")[:8]
    assert values == ["50000", "100000", "512", "64", "0", str(64 << 20), str(32 << 20),
                      str(96 << 20)]
    assert "oom_kill_disable 1" in out
    assert "write=1" in out  # read-only cgroupfs inside


def test_cpu_quota_and_period(engine_with_busybox: Engine) -> None:
    info = engine_with_busybox.create_container(
        sh("quota", "sleep 30", cpu_quota=25000, cpu_period=50000)
    )
    engine_with_busybox.start_container(info.id)
    try:
        cgroup = container_cgroup(info.id)
        if cgroup.version is CgroupVersion.V2:
            assert (cgroup.root / "pycompose" / cgroup.name / "cpu.max").read_text().split() == [
                "25000", "50000"]
        else:
            cpu = cgroup.root / "cpu" / "pycompose" / cgroup.name
            assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "25000"
            assert (cpu / "cpu.cfs_period_us").read_text().strip() == "50000"
    finally:
        engine_with_busybox.stop_container(info.id, timeout=0)


def test_fork_bomb_is_stopped_by_pids_limit(engine_with_busybox: Engine) -> None:
    # Bounded: 200 background sleeps; with pids_limit 20 the forks beyond it fail (EAGAIN).
    # Counting uses only shell builtins and globbing: at the limit, $(...) could not fork.
    script = (
        "( i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done ) 2>/dev/null; "
        "echo bomb=$?; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; "
        "echo procs=$n; kill -9 -1; echo end"
    )
    code, out = run_to_exit(engine_with_busybox, sh("bomb", script, pids_limit=20), timeout=60)
    assert code == 0, out
    procs = int(out.split("procs=")[1].split()[0])
    assert 2 <= procs <= 20, out
    assert "bomb=0" not in out  # the forking shell died: fork failed at the limit
    assert "end" in out


def test_oom_is_reported(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(
        sh("oom", "x=a; while true; do x=$x$x$x$x; done", memory_limit=16 * 1024 * 1024)
    )
    engine.start_container(info.id)
    assert engine.wait_container(info.id, timeout=60) == 137
    assert engine.inspect(info.id).state.oom_killed is True


def test_pause_freezes_and_unpause_thaws(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(
        sh("pause", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done")
    )
    engine.start_container(info.id)
    try:
        time.sleep(0.3)
        paused = engine.pause_container(info.id)
        assert paused.state.paused and container_cgroup(info.id).is_frozen()
        before = len(output_of(engine, info.id).split())
        time.sleep(0.5)
        assert len(output_of(engine, info.id).split()) == before
        with pytest.raises(Exception, match="already paused"):
            engine.pause_container(info.id)
        engine.unpause_container(info.id)
        time.sleep(0.5)
        assert len(output_of(engine, info.id).split()) > before
        # Stopping a paused container works (it is thawed first).
        engine.pause_container(info.id)
    finally:
        stopped = engine.stop_container(info.id, timeout=2)
    assert stopped.state.exit_code is not None
    assert not stopped.state.paused


def test_devices_cgroup_allows_only_default_and_requested_devices(
    engine_with_busybox: Engine,
) -> None:
    script = (
        "mknod /tmp/mem c 1 1 && echo made; (: < /tmp/mem); echo mem=$?; "
        "(: < /dev/zero) && echo zero-open; (: < /dev/loop-control) && echo ctl-open; "
        "ls -l /dev/loop-control"
    )
    code, out = run_to_exit(
        engine_with_busybox, sh("devs", script, devices=("/dev/loop-control:/dev/loop-control",))
    )
    assert code == 0, out
    assert "made" in out  # CAP_MKNOD is default: making the node is fine...
    assert "mem=1" in out and "Operation not permitted" in out  # ...opening it is not
    assert "zero-open" in out and "ctl-open" in out
    assert "10, 237" in out


def test_bad_cgroup_value_names_the_option_and_leaves_nothing(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    with pytest.raises(InvalidArgumentError, match="badset: cpuset: requested CPUs are not "
                       "available - requested 99, available: "):  # at create, as Docker's
        engine.create_container(sh("badset", "true", cpuset_cpus="99"))
    assert engine.find_container("badset") is None
    # Docker's verifyPlatformContainerResources, at create too: the CPUs the host has, and
    # its memory floor (1k would be OOM-killed before it ran anything)
    for name, fields, message in (
        ("badcpus", {"cpus": 1000.0}, "badcpus: cpus: range of CPUs is from 0.01"),
        ("tinymem", {"memory_limit": 1024}, "tinymem: mem_limit: minimum memory"),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            engine.create_container(sh(name, "true", **fields))
        assert engine.find_container(name) is None


def test_ulimits_and_shm_size(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox,
        sh("ulim", "ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1",
           ulimits={"nofile": (1000, 2000)}, shm_size=8 * 1024 * 1024),
    )
    assert code == 0, out
    lines = out.split("\n")
    assert lines[0] == "1000" and lines[1] == "2000"
    assert lines[2].split()[1] == "8192"


def test_oom_score_adj(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("oomadj", "cat /proc/self/oom_score_adj", oom_score_adj=500)
    )
    assert code == 0 and out.strip() == "500", out


def test_lowering_oom_score_adj_without_cap_sys_resource_is_a_clear_error(
    engine_with_busybox: Engine,
) -> None:
    from engine.rlimits import _has_sys_resource

    if _has_sys_resource():
        pytest.skip("this engine holds CAP_SYS_RESOURCE: lowering is allowed")
    info = engine_with_busybox.create_container(sh("oomlow", "true", oom_score_adj=-500))
    with pytest.raises(ContainerStartError, match="oom_score_adj -500"):
        engine_with_busybox.start_container(info.id)


# ---- cgroup v2 device filter (BPF), on this host's cgroup2 hierarchy ---------------------------
def _open_in_cgroup(cgroup: Cgroup, paths: list[str], flags: int = os.O_RDONLY) -> list[str]:
    """Fork a process into the cgroup; what happens when it opens each path (ok or errno)."""
    read_r, read_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_r)
            cgroup.join_self()
            results = []
            for path in paths:
                try:
                    os.close(os.open(path, flags | os.O_NOCTTY))
                    results.append("ok")
                except OSError as exc:
                    results.append(errno.errorcode.get(exc.errno or 0, str(exc.errno)))
            os.write(read_w, " ".join(results).encode())
        finally:
            os._exit(0)
    os.close(read_w)
    with os.fdopen(read_r, "rb") as reader:
        out = reader.read().decode()
    os.waitpid(pid, 0)
    return out.split()


def test_v2_device_filter_allows_only_the_listed_devices(tmp_path: Path) -> None:
    """The v2 path of engine.cgroups on the hybrid host's cgroup2 mount: Docker's default
    allow-list plus `c 10:237 r`, enforced by the attached BPF program for a process inside."""
    mount = cgroup2_mount()
    if mount is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    loop_control = "/dev/loop-control"
    if not os.path.exists(loop_control):
        pytest.skip("the host has no /dev/loop-control")
    disk = str(tmp_path / "sda")
    os.mknod(disk, 0o600 | stat.S_IFBLK, os.makedev(8, 0))
    cgroup = Cgroup(f"devfilter-{uuid.uuid4().hex[:12]}", CgroupVersion.V2, mount)
    cgroup.create(Limits(device_rules=(*DEFAULT_DEVICE_RULES, "c 10:237 r")))
    try:
        assert cgroup.dirs()[0].is_dir()
        assert _open_in_cgroup(cgroup, ["/dev/null", disk, loop_control]) == [
            "ok", "EPERM", "ok"]
        assert _open_in_cgroup(cgroup, ["/dev/null", loop_control], os.O_WRONLY) == [
            "ok", "EPERM"]  # read-only rule: writing is refused
        # Outside the cgroup the same node opens (the refusal above was the filter's).
        os.close(os.open(loop_control, os.O_WRONLY))
    finally:
        cgroup.remove()
    assert not cgroup.dirs()[0].exists()


def test_v2_device_filter_detaches(tmp_path: Path) -> None:
    from engine import device_filter_bpf

    mount = cgroup2_mount()
    if mount is None or not os.path.exists("/dev/loop-control"):
        pytest.skip("no cgroup2 hierarchy or no /dev/loop-control")
    cgroup = Cgroup(f"devdetach-{uuid.uuid4().hex[:12]}", CgroupVersion.V2, mount)
    cgroup.create(Limits())
    directory = str(cgroup.dirs()[0])
    try:
        prog_fd = device_filter_bpf.attach(directory, DEFAULT_DEVICE_RULES)
        try:
            assert _open_in_cgroup(cgroup, ["/dev/zero", "/dev/loop-control"]) == ["ok", "EPERM"]
        finally:
            device_filter_bpf.detach(directory, prog_fd)
            os.close(prog_fd)
        assert _open_in_cgroup(cgroup, ["/dev/zero", "/dev/loop-control"]) == ["ok", "ok"]
    finally:
        cgroup.remove()
    assert not cgroup.dirs()[0].exists()


def test_oom_kill_of_a_child_process_is_reported(engine_with_busybox: Engine) -> None:
    """Docker's OOMKilled is about the container's cgroup, not its pid 1: a child killed by
    the OOM killer makes it true at once, while the container goes on, and it stays true
    once the container has exited on its own with status 0."""
    engine = engine_with_busybox
    script = (
        "sh -c 'x=a; while true; do x=$x$x$x$x; done'; echo child=$?; "
        "while [ ! -e /tmp/done ]; do sleep 0.05; done; echo parent-exits"
    )
    info = engine.create_container(sh("oomchild", script, memory_limit=16 * 1024 * 1024))
    engine.start_container(info.id)
    try:
        deadline = time.monotonic() + 60
        while "child=" not in output_of(engine, info.id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "child=137" in output_of(engine, info.id)
        state = engine.inspect(info.id).state
        assert state.status.value == "running" and state.oom_killed is True
        assert engine.inspect_document(info.id)["State"]["OOMKilled"] is True
        engine.exec_in_container(info.id, ["touch", "/tmp/done"])
        assert engine.wait_container(info.id, timeout=30) == 0
        assert engine.inspect(info.id).state.oom_killed is True
    finally:
        engine.stop_container(info.id, timeout=0)


def test_no_oom_no_oomkilled(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    info = engine.create_container(sh("nooom", "sleep 30", memory_limit=16 * 1024 * 1024))
    engine.start_container(info.id)
    try:
        assert engine.inspect(info.id).state.oom_killed is False
    finally:
        engine.stop_container(info.id, timeout=0)
    assert engine.inspect(info.id).state.oom_killed is False
