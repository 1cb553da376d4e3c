"""The cgroup v2 file mapping (this machine runs v1, so v2 is checked on a directory laid out
like a cgroup2 mount: the files and values written are the contract)."""

from __future__ import annotations

from pathlib import Path

from engine.cgroups import Cgroup, CgroupVersion, Limits, detect_version
from engine.runtime_options import image_healthcheck


def _fake_v2_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    (root / "pycompose" / "c1").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "pycompose" / "cgroup.subtree_control").write_text("")
    (root / "pycompose" / "c1" / "memory.swap.max").write_text("max\n")
    (root / "pycompose" / "c1" / "io.weight").write_text("default 100\n")
    return root


def test_v2_limits_are_written_to_the_unified_files(tmp_path: Path) -> None:
    root = _fake_v2_root(tmp_path)
    assert detect_version(root) is CgroupVersion.V2
    cgroup = Cgroup("c1", CgroupVersion.V2, root)
    cgroup.create(Limits(
        memory_bytes=64 << 20, memory_swap=96 << 20, memory_reservation=16 << 20, pids=40,
        cpu_shares=1024, cpu_quota=50000, cpu_period=100000, cpuset_cpus="0",
        blkio_weight=300,
    ))
    path = root / "pycompose" / "c1"

    def read(name: str) -> str:
        return (path / name).read_text()

    assert read("memory.max") == str(64 << 20)
    assert read("memory.swap.max") == str(32 << 20)  # v2 counts swap alone
    assert read("memory.low") == str(16 << 20)
    assert read("pids.max") == "40"
    assert read("cpu.weight") == "39"  # runc's shares->weight conversion of 1024
    assert read("cpu.max") == "50000 100000"
    assert read("cpuset.cpus") == "0"
    assert read("io.weight") == "default 300"
    assert "+cpu" in (root / "cgroup.subtree_control").read_text()


def test_v2_without_memswap_allows_as_much_swap_as_memory(tmp_path: Path) -> None:
    """Docker: mem_limit alone means MemorySwap = 2 x memory (swap equal to the memory)."""
    root = _fake_v2_root(tmp_path)
    Cgroup("c1", CgroupVersion.V2, root).create(Limits(memory_bytes=64 << 20))
    assert (root / "pycompose" / "c1" / "memory.swap.max").read_text() == str(64 << 20)


def test_v2_freezer_uses_cgroup_freeze(tmp_path: Path) -> None:
    root = _fake_v2_root(tmp_path)
    cgroup = Cgroup("c1", CgroupVersion.V2, root)
    (root / "pycompose" / "c1" / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    cgroup.freeze(True)
    assert (root / "pycompose" / "c1" / "cgroup.freeze").read_text() == "1"
    assert cgroup.is_frozen()


def test_image_healthcheck_from_the_oci_config() -> None:
    check = image_healthcheck({"config": {"Healthcheck": {
        "Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000, "Retries": 5}}})
    assert check is not None
    assert check.test == ("CMD-SHELL", "true") and check.interval == 2.0 and check.retries == 5
    assert check.timeout == 30.0
    assert image_healthcheck({"config": {}}) is None


def test_v1_blkio_weight_goes_to_the_file_the_kernel_has(tmp_path: Path) -> None:
    """CFQ kernels have blkio.weight, BFQ ones blkio.bfq.weight; with neither (this host), the
    weight is discarded as Docker does ("Your kernel does not support Block I/O weight")."""
    for name in ("blkio.weight", "blkio.bfq.weight"):
        root = tmp_path / name
        path = root / "blkio" / "pycompose" / "c1"
        path.mkdir(parents=True)
        (path / name).write_text("100\n")
        Cgroup("c1", CgroupVersion.V1, root).create(Limits(blkio_weight=300))
        assert (path / name).read_text() == "300"
    bare = tmp_path / "bare"
    (bare / "blkio").mkdir(parents=True)
    Cgroup("c1", CgroupVersion.V1, bare).create(Limits(blkio_weight=300))
    assert sorted(p.name for p in (bare / "blkio" / "pycompose" / "c1").iterdir()) == []


def test_oom_killed_reads_the_oom_kill_counter_of_either_version(tmp_path: Path) -> None:
    """Any process of the cgroup OOM-killed counts (Docker's OOMKilled), not only pid 1: the
    kernel's per-cgroup counter. An `oom` line alone (the cgroup hit its limit, reclaim
    coped) is no kill."""
    root = _fake_v2_root(tmp_path)
    events = root / "pycompose" / "c1" / "memory.events"
    cgroup = Cgroup("c1", CgroupVersion.V2, root)
    assert not cgroup.oom_killed()  # no memory.events: no memory controller, no kill known
    events.write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\noom_group_kill 0\n")
    assert not cgroup.oom_killed()
    events.write_text("low 0\nhigh 0\nmax 40\noom 3\noom_kill 2\noom_group_kill 0\n")
    assert cgroup.oom_killed()

    v1_root = tmp_path / "v1"
    control = v1_root / "memory" / "pycompose" / "c1" / "memory.oom_control"
    control.parent.mkdir(parents=True)
    v1 = Cgroup("c1", CgroupVersion.V1, v1_root)
    control.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not v1.oom_killed()
    control.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert v1.oom_killed()
    control.write_text("oom_kill_disable 0\nunder_oom 0\n")  # before 4.13: no counter
    assert not v1.oom_killed()


def test_a_cgroup_parent_is_a_path_below_the_root() -> None:
    from engine.cgroups import PARENT, parent_path

    assert parent_path(None) == PARENT and parent_path("") == PARENT and parent_path("/") == PARENT
    assert parent_path("/apps/web/") == "apps/web"
    assert parent_path("apps") == "apps"
    assert parent_path("../../etc") == "etc"  # cannot climb above the hierarchy's root
    assert parent_path("a/./b/../c") == "a/c"


def test_v2_cgroup_parent_gets_the_controllers_at_every_level_and_is_left(tmp_path: Path) -> None:
    """v2 hands controllers down one level at a time: each dir from the root to a nested
    `cgroup_parent` enables them for its children. Removing the container leaves the
    parent, as Docker does (it is its owner's); the engine's own empty parent goes."""
    from engine.cgroups import container_cgroup, parent_path

    root = _fake_v2_root(tmp_path)
    for level in (root / "apps", root / "apps" / "web"):  # what the kernel makes at mkdir
        level.mkdir()
        (level / "cgroup.subtree_control").write_text("")
    cgroup = Cgroup("c9", CgroupVersion.V2, root, parent=parent_path("/apps/web"),
                    own_parent=False)
    cgroup.create(Limits(pids=10))
    assert (root / "apps" / "web" / "c9" / "pids.max").read_text() == "10"
    for level in (root, root / "apps", root / "apps" / "web"):
        assert "+pids" in (level / "cgroup.subtree_control").read_text(), level
    assert cgroup.memory_dir() == root / "apps" / "web" / "c9"
    assert not container_cgroup("x" * 64, "/apps/web").own_parent
    assert container_cgroup("x" * 64, "/apps/web").parent == "apps/web"
    assert container_cgroup("x" * 64).parent == "pycompose"
    assert container_cgroup("x" * 64).own_parent


def test_v1_swappiness_goes_to_the_memory_cgroup(tmp_path: Path) -> None:
    root = tmp_path / "v1"
    memory = root / "memory" / "pycompose" / "c1"
    memory.mkdir(parents=True)
    Cgroup("c1", CgroupVersion.V1, root).create(Limits(memory_swappiness=10))
    assert (memory / "memory.swappiness").read_text() == "10"
