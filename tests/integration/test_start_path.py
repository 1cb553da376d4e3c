"""The cheaper start path still does what the kernel needs: a container's cgroup gets the
device rules one write each and a cpuset its tasks can join (inherited from the parent once
`clone_children` is set), and the seccomp filter compiled once per process (then loaded as raw
BPF in every container's init) refuses what Docker's profile refuses."""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

import pytest

from engine import capabilities, seccomp_profile
from engine import syscalls as sc
from engine.cgroups import (
    CGROUP_ROOT,
    DEFAULT_DEVICE_RULES,
    Cgroup,
    CgroupVersion,
    Limits,
    detect_version,
)
from tests.integration.runtime_helpers import cgroup2_mount

V1_ONLY = pytest.mark.skipif(
    detect_version() is not CgroupVersion.V1, reason="cgroup v1 controllers (this host's kind)"
)


def _in_child(work: object) -> int:
    """Run `work()` in a forked child; its return value (a small int) as the exit status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reported through the exit status
        try:
            os._exit(work())  # type: ignore[operator]
        except BaseException:
            os._exit(99)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@V1_ONLY
def test_device_rules_and_cpuset_of_consecutive_containers() -> None:
    parent = f"pctest-{uuid.uuid4().hex[:10]}"
    groups = [Cgroup(f"c{i}", CgroupVersion.V1, parent=parent) for i in range(3)]
    try:
        for group in groups:
            group.create(Limits(pids=64, device_rules=DEFAULT_DEVICE_RULES))
        assert (CGROUP_ROOT / "cpuset" / parent / "cgroup.clone_children").read_text() == "1\n"
        for group in groups:
            devices = CGROUP_ROOT / "devices" / parent / group.name / "devices.list"
            assert devices.read_text().splitlines() == list(DEFAULT_DEVICE_RULES)
            cpuset = CGROUP_ROOT / "cpuset" / parent / group.name
            assert (cpuset / "cpuset.cpus").read_text().strip()
            assert (cpuset / "cpuset.mems").read_text().strip()

            def join(group: Cgroup = group) -> int:
                group.join_self()  # an empty cpuset would refuse: ENOSPC
                return 0

            assert _in_child(join) == 0
    finally:
        for group in groups:
            group.remove()
    assert not any((CGROUP_ROOT / c / parent).exists() for c in ("cpuset", "devices", "pids"))


@V1_ONLY
def test_requested_cpuset_still_wins_over_the_inherited_one() -> None:
    parent = f"pctest-{uuid.uuid4().hex[:10]}"
    first = Cgroup("c1", CgroupVersion.V1, parent=parent)
    pinned = Cgroup("c2", CgroupVersion.V1, parent=parent)
    try:
        first.create(Limits())
        pinned.create(Limits(cpuset_cpus="0"))
        assert (CGROUP_ROOT / "cpuset" / parent / "c2" / "cpuset.cpus").read_text().strip() == "0"
    finally:
        first.remove()
        pinned.remove()


def _errno_of(call: object) -> int:
    try:
        call()  # type: ignore[operator]
    except OSError as exc:
        return exc.errno or 0
    return 0


def test_precompiled_seccomp_filter_refuses_like_dockers_profile() -> None:
    default = tuple(sorted(capabilities.DOCKER_DEFAULT))
    program = seccomp_profile.compiled_profile(default)
    assert program and len(program) % 8 == 0  # struct sock_filter[]
    assert seccomp_profile.compiled_profile(frozenset(default)) is program  # compiled once

    def confined() -> int:
        seccomp_profile.load_default_profile(default)
        refused = _errno_of(lambda: sc.unshare(sc.CLONE_NEWUTS))  # root, but SYS_ADMIN rule
        allowed = os.getpid() > 0 and Path("/proc/self/status").read_text()
        seccomp_line = [x for x in str(allowed).splitlines() if x.startswith("Seccomp:")]
        return 0 if refused == errno.EPERM and seccomp_line == ["Seccomp:\t2"] else 1

    def with_sys_admin() -> int:
        seccomp_profile.load_default_profile((*default, "SYS_ADMIN"))
        return _errno_of(lambda: sc.unshare(sc.CLONE_NEWUTS))

    assert _in_child(confined) == 0
    assert _in_child(with_sys_admin) == 0  # the capability's rule lifts the refusal


def _born_in(cgroup_dir: str | None, group: Cgroup | None) -> tuple[bool, str]:
    """Fork as a container's init is forked (engine.runtime's `_fork_into`); the child moves
    itself when it was not born in the cgroup, as init does. (placed, the child's cgroups)."""
    from engine import runtime

    read_r, read_w = os.pipe()
    pid, placed = runtime._fork_into(cgroup_dir, 0)
    if pid == 0:  # pragma: no cover - reported through the pipe
        try:
            if not placed and group is not None:
                group.join_self()
            with open("/proc/self/cgroup", encoding="ascii") as handle:
                os.write(read_w, handle.read().encode())
        finally:
            os._exit(0)
    os.close(read_w)
    with os.fdopen(read_r, "rb") as reader:
        seen = reader.read().decode()
    os.waitpid(pid, 0)
    return placed, seen


def test_init_is_born_in_a_v2_cgroup_and_moves_itself_into_v1_ones() -> None:
    """On cgroup v2 init is created in the container's cgroup (clone3's CLONE_INTO_CGROUP: no
    move, no RCU grace period); v1 has no such clone, and there it moves itself through
    `tasks` (engine.cgroups.join_self). Either way it ends in the container's cgroup."""
    from engine.runtime import _v2_dir

    unified = cgroup2_mount()
    if unified is None:
        pytest.skip("no cgroup2 mount on this host")
    name = f"pctest-{uuid.uuid4().hex[:10]}"
    v2 = Cgroup(name, CgroupVersion.V2, root=unified, parent="")
    (unified / name).mkdir()
    try:
        assert _v2_dir(v2.dirs()) == str(unified / name)
        placed, seen = _born_in(_v2_dir(v2.dirs()), v2)
        assert placed and f"0::/{name}\n" in seen, seen
    finally:
        (unified / name).rmdir()
    if detect_version() is not CgroupVersion.V1:
        return
    parent = f"pctest-{uuid.uuid4().hex[:10]}"
    v1 = Cgroup("c1", CgroupVersion.V1, parent=parent)
    v1.create(Limits(pids=16))
    try:
        assert _v2_dir(v1.dirs()) is None
        placed, seen = _born_in(None, v1)
        assert not placed and f":pids:/{parent}/c1\n" in seen, seen
    finally:
        v1.remove()
