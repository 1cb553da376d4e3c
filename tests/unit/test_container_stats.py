"""Reading a container's counters from cgroup files of either version, and Docker's
arithmetic and units on them (`stats`)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from compose.cli.stats_cmd import stats_row
from compose.human_size import binary_size, human_size
from engine.cgroups import Cgroup, CgroupVersion
from engine.container_stats import ResourceSample, read_sample

GIB = 1024**3


def _files(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _v1(tmp_path: Path) -> Cgroup:
    group = Cgroup(name="c1", version=CgroupVersion.V1, root=tmp_path, parent="pc")
    _files(tmp_path, {
        "cpuacct/pc/c1/cpuacct.usage": "5000000\n",
        "memory/pc/c1/memory.usage_in_bytes": "10485760\n",
        "memory/pc/c1/memory.stat": "cache 100\ntotal_inactive_file 2097152\n",
        "memory/pc/c1/memory.limit_in_bytes": "67108864\n",
        "pids/pc/c1/pids.current": "3\n",
        "blkio/pc/c1/blkio.io_service_bytes_recursive": "",
        "blkio/pc/c1/blkio.throttle.io_service_bytes_recursive":
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
    })
    return group


def _v2(tmp_path: Path, limit: str) -> Cgroup:
    group = Cgroup(name="c2", version=CgroupVersion.V2, root=tmp_path, parent="pc")
    _files(tmp_path, {
        "pc/c2/cpu.stat": "usage_usec 7000\nuser_usec 5000\n",
        "pc/c2/memory.current": "4194304\n",
        "pc/c2/memory.stat": "anon 1\ninactive_file 1048576\n",
        "pc/c2/memory.max": limit,
        "pc/c2/pids.current": "2\n",
        "pc/c2/io.stat": "8:0 rbytes=100 wbytes=200 rios=1\n8:16 rbytes=1 wbytes=2\n",
    })
    return group


def test_v1_counters_with_inactive_cache_left_out(tmp_path: Path) -> None:
    sample = read_sample(_v1(tmp_path), os.getpid())
    assert sample.cpu_ns == 5_000_000
    assert sample.memory_usage == 8 * 1024 * 1024  # 10 MiB less 2 MiB inactive file
    assert sample.memory_limit == 64 * 1024 * 1024
    assert (sample.block_read, sample.block_write, sample.pids) == (4096, 8192, 3)


def test_v2_counters_and_no_limit_reads_as_the_hosts_memory(tmp_path: Path) -> None:
    sample = read_sample(_v2(tmp_path, "max\n"), os.getpid())
    assert sample.cpu_ns == 7_000_000
    assert sample.memory_usage == 3 * 1024 * 1024
    host = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    assert sample.memory_limit == host
    assert (sample.block_read, sample.block_write, sample.pids) == (101, 202, 2)


def test_a_limit_above_the_hosts_memory_reads_as_the_hosts(tmp_path: Path) -> None:
    sample = read_sample(_v2(tmp_path, str(2**62)), os.getpid())
    assert sample.memory_limit < 2**62


def test_missing_counters_read_as_zero(tmp_path: Path) -> None:
    group = Cgroup(name="gone", version=CgroupVersion.V1, root=tmp_path, parent="pc")
    sample = read_sample(group, os.getpid())
    assert (sample.cpu_ns, sample.memory_usage, sample.pids, sample.block_read) == (0, 0, 0, 0)


def _sample(cpu_ns: int, system_ns: int, **changes: int) -> ResourceSample:
    values = dict(
        cpu_ns=cpu_ns, system_ns=system_ns, online_cpus=2, memory_usage=5_902_000,
        memory_limit=2 * GIB, net_rx=916, net_tx=0, block_read=147_000, block_write=0, pids=9,
    )
    return ResourceSample(**(values | changes))


def test_cpu_percent_is_dockers_share_of_the_host_scaled_to_its_cpus() -> None:
    before, after = _sample(0, 0), _sample(500_000_000, 2_000_000_000)
    assert after.cpu_percent_since(before) == pytest.approx(50.0)  # half a CPU of two
    assert before.cpu_percent_since(after) == 0.0


def test_row_in_dockers_units() -> None:
    info: Any = SimpleNamespace(id="ab" * 32, name="p-web-1")
    row = stats_row(info, _sample(0, 0), _sample(1_000_000, 100_000_000), no_trunc=False)
    assert row == {
        "ID": "abababababab", "Container": "p-web-1", "Name": "p-web-1", "CPUPerc": "2.00%",
        "MemUsage": "5.629MiB / 2GiB", "MemPerc": "0.27%", "NetIO": "916B / 0B",
        "BlockIO": "147kB / 0B", "PIDs": "9",
    }


@pytest.mark.parametrize(("size", "binary", "decimal"), [
    (0, "0B", "0B"), (972 * 1024, "972KiB", "995kB"), (1.952 * GIB, "1.952GiB", "2.1GB"),
    (2_480, "2.422KiB", "2.48kB"), (1023, "1023B", "1.02kB"),
])
def test_sizes_as_go_units_prints_them(size: float, binary: str, decimal: str) -> None:
    assert (binary_size(size), human_size(size)) == (binary, decimal)
