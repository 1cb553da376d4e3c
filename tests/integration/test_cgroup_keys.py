"""The Compose keys that place a container's cgroup and share the host's namespaces, as the
container and the host see them: cgroup_parent, mem_swappiness, device_cgroup_rules,
`uts: host`, `cgroup: host`."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import Engine
from engine.cgroups import (
    CGROUP_ROOT,
    DEFAULT_DEVICE_RULES,
    Cgroup,
    CgroupVersion,
    Limits,
    container_cgroup,
    detect_version,
)
from engine.errors import InvalidArgumentError
from engine.runtime_options import resources
from tests.integration.runtime_helpers import run_to_exit, sh

V1 = detect_version() is CgroupVersion.V1


def _remove_tree(top: str) -> None:
    """A test's cgroup_parent, deepest dirs first, in every hierarchy (the engine leaves a
    cgroup_parent in place, as Docker does)."""
    roots = [CGROUP_ROOT / c for c in os.listdir(CGROUP_ROOT)] if V1 else [CGROUP_ROOT]
    for root in roots:
        base = root / top
        if not base.is_dir():
            continue
        for current, _dirs, _files in sorted(os.walk(base), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(current)


@pytest.fixture
def parent_name() -> Iterator[str]:
    top = f"pctest-{uuid.uuid4().hex[:10]}"
    yield top
    _remove_tree(top)


def test_cgroup_parent_places_the_container_and_is_left_behind(
    engine_with_busybox: Engine, parent_name: str
) -> None:
    engine = engine_with_busybox
    parent = f"/{parent_name}/web"
    info = engine.create_container(sh("cgp", "cat /proc/self/cgroup; sleep 30",
                                      cgroup_parent=parent, pids_limit=33))
    engine.start_container(info.id)
    try:
        cgroup = container_cgroup(info.id, parent)
        assert cgroup.parent == f"{parent_name}/web"
        pids = cgroup.dirs()[0] if not V1 else CGROUP_ROOT / "pids" / cgroup.parent / info.id
        assert (pids / "pids.max").read_text().strip() == "33"
        with open(f"/proc/{engine.inspect(info.id).state.pid}/cgroup", encoding="ascii") as f:
            assert f"{parent_name}/web/{info.id}" in f.read()
        assert not any(p.exists() for p in container_cgroup(info.id).dirs())  # not ours
        doc = engine.inspect_document(info.id)
        assert doc["HostConfig"]["CgroupParent"] == parent
    finally:
        engine.stop_container(info.id, timeout=0)
    engine.remove_container(info.id)
    assert not any(path.exists() for path in cgroup.dirs())
    assert all(path.parent.is_dir() for path in cgroup.dirs())  # the parent is its owner's


@pytest.mark.skipif(not V1, reason="memory.swappiness is cgroup v1's")
def test_mem_swappiness(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh(
        "swap", "cat /sys/fs/cgroup/memory/memory.swappiness", mem_swappiness=7))
    assert code == 0 and out.strip() == "7", out


def test_device_cgroup_rules_allow_more_devices(engine_with_busybox: Engine) -> None:
    """`c 10:237 rwm` opens loop-control to a node the container makes; kvm's 10:232, not
    listed, stays refused."""
    script = ("mknod /tmp/lc c 10 237; mknod /tmp/kvm c 10 232; "
              "( : < /tmp/lc ); echo lc=$?; ( : < /tmp/kvm ); echo kvm=$?")
    code, out = run_to_exit(engine_with_busybox, sh(
        "devrules", script, device_cgroup_rules=("c 10:237 rwm",)))
    assert code == 0, out
    assert "lc=0" in out and "kvm=1" in out
    code, out = run_to_exit(engine_with_busybox, sh("norules", script))
    assert "lc=1" in out and "kvm=1" in out
    with pytest.raises(InvalidArgumentError, match="device_cgroup_rules: invalid device "
                       "cgroup rule format: 'c 10:237'"):  # at create, as Docker's
        engine_with_busybox.create_container(sh("badrule", "true",
                                                device_cgroup_rules=("c 10:237",)))
    assert engine_with_busybox.find_container("badrule") is None


def _cgroup2_mount() -> Path | None:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2":
            return Path(fields[1])
    return None


def test_device_cgroup_rules_on_the_v2_device_filter(tmp_path: Path) -> None:
    """The v2 path: the same rules, after Docker's default list, in the BPF device filter of
    a cgroup under a nested cgroup_parent (the hybrid host's cgroup2 mount)."""
    from tests.integration.test_resources import _open_in_cgroup

    mount = _cgroup2_mount()
    if mount is None or not os.path.exists("/dev/loop-control"):
        pytest.skip("no cgroup2 hierarchy or no /dev/loop-control")
    from engine.containers import ContainerSpec

    spec = ContainerSpec(name="v2rules", image="busybox", device_cgroup_rules=("c 10:237 r",))
    limits = resources(spec, ())
    assert limits.device_rules == (*DEFAULT_DEVICE_RULES, "c 10:237 r")
    top = f"pctest-{uuid.uuid4().hex[:10]}"
    cgroup = Cgroup(f"v2rules-{uuid.uuid4().hex[:8]}", CgroupVersion.V2, mount,
                    parent=f"{top}/nested", own_parent=False)
    try:
        cgroup.create(Limits(device_rules=limits.device_rules))
        assert cgroup.dirs()[0].parent == mount / top / "nested"
        assert _open_in_cgroup(cgroup, ["/dev/null", "/dev/loop-control"]) == ["ok", "ok"]
        assert _open_in_cgroup(cgroup, ["/dev/loop-control"], os.O_WRONLY) == ["EPERM"]
    finally:
        cgroup.remove()
        for path in (mount / top / "nested", mount / top):
            with contextlib.suppress(OSError):
                os.rmdir(path)
    assert not (mount / top).exists()


def test_uts_host_shares_the_hosts_hostname(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh(
        "utshost", "hostname; readlink /proc/self/ns/uts", uts_mode="host"))
    assert code == 0, out
    assert out.split() == [socket.gethostname(), os.readlink("/proc/self/ns/uts")]
    code, out = run_to_exit(engine_with_busybox, sh("utsown", "readlink /proc/self/ns/uts"))
    assert out.strip() != os.readlink("/proc/self/ns/uts")
    with pytest.raises(InvalidArgumentError, match="hostname: conflicting options: hostname "
                       "and the UTS mode"):  # refused at create, as Docker's create does
        engine_with_busybox.create_container(sh("utsname", "true", uts_mode="host",
                                                hostname="renamed"))
    assert socket.gethostname() != "renamed"
    assert "utsname" not in [c.name for c in engine_with_busybox.list_containers()]


def test_cgroup_host_shares_the_hosts_cgroup_namespace(engine_with_busybox: Engine) -> None:
    """`cgroup: host`: the host's cgroup namespace (full paths in /proc/self/cgroup), and
    /sys/fs/cgroup still shows the container's own cgroup, not the host's tree."""
    memory = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes" if V1
              else "cat /sys/fs/cgroup/memory.max")
    script = f"readlink /proc/self/ns/cgroup; grep -c pycompose /proc/self/cgroup; {memory}"
    code, out = run_to_exit(engine_with_busybox, sh(
        "cgns", script, cgroupns_mode="host", memory_limit=64 << 20))
    assert code == 0, out
    lines = out.split()
    assert lines[0] == os.readlink("/proc/self/ns/cgroup")
    assert int(lines[1]) >= 1  # the engine's parent is in the paths the container sees
    assert lines[2] == str(64 << 20)
    code, out = run_to_exit(engine_with_busybox, sh("cgnsown", script, memory_limit=64 << 20))
    lines = out.split()
    assert lines[0] != os.readlink("/proc/self/ns/cgroup") and lines[1] == "0"
    assert lines[2] == str(64 << 20)
