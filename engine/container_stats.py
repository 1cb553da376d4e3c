"""A running container's resource counters, as Docker's stats API reports them.

Read from the container's cgroup (v1 controllers or the v2 unified dir) and from its network
namespace (through /proc/<init pid>/net/dev), plus the host-wide CPU time the CPU percentage is
relative to. Two samples make a rate: `after.cpu_percent_since(before)` is Docker's
calculateCPUPercentUnix. Memory usage leaves out inactive page cache (Docker's CLI subtracts
`total_inactive_file` on v1, `inactive_file` on v2): a container that read a large file is not
reported as using its cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.cgroups import Cgroup, CgroupVersion

# /proc/stat's cpu line counts USER_HZ ticks (100 on Linux), Docker's getSystemCPUUsage too.
_NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ResourceSample:
    """One reading of a container's counters; `system_ns` is the whole host's CPU time at the
    same moment, so two samples give the container's share of it."""

    cpu_ns: int
    system_ns: int
    online_cpus: int
    memory_usage: int
    memory_limit: int
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int

    def cpu_percent_since(self, before: ResourceSample) -> float:
        """The container's CPU time over the host's, scaled to the online CPUs (100% = one
        CPU busy), as Docker computes it; 0 when either delta is not positive."""
        cpu = self.cpu_ns - before.cpu_ns
        system = self.system_ns - before.system_ns
        if cpu <= 0 or system <= 0:
            return 0.0
        return cpu / system * self.online_cpus * 100.0

    def memory_percent(self) -> float:
        return self.memory_usage / self.memory_limit * 100.0 if self.memory_limit else 0.0


def read_sample(cgroup: Cgroup, pid: int, own_network: bool = True) -> ResourceSample:
    """The counters now. Files a kernel lacks read as zero (e.g. no blkio controller mounted):
    a missing counter is not a reason to show nothing. Without `own_network` (the host's
    network namespace) no network counters: they would be the host's."""
    rx, tx = _net_bytes(pid) if own_network else (0, 0)
    read, written = _block_bytes(cgroup)
    host_memory = _host_memory()
    limit = _memory_limit(cgroup)
    return ResourceSample(
        cpu_ns=_cpu_ns(cgroup),
        system_ns=_system_ns(),
        online_cpus=os.sysconf("SC_NPROCESSORS_ONLN"),
        memory_usage=_memory_usage(cgroup),
        memory_limit=host_memory if limit is None or limit > host_memory else limit,
        net_rx=rx,
        net_tx=tx,
        block_read=read,
        block_write=written,
        pids=_int_file(cgroup.controller_dir("pids") / "pids.current"),
    )


def _read(path: Path) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _int_file(path: Path) -> int:
    text = _read(path).strip()
    return int(text) if text.isdigit() else 0


def _keyed(text: str, separator: str = " ") -> dict[str, int]:
    """`key value` lines (memory.stat, cpu.stat) -> ints; malformed lines are skipped."""
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(separator)
        if value.strip().isdigit():
            values[key] = int(value)
    return values


def _cpu_ns(cgroup: Cgroup) -> int:
    if cgroup.version is CgroupVersion.V2:
        usage = _keyed(_read(cgroup.controller_dir("cpu") / "cpu.stat")).get("usage_usec", 0)
        return usage * 1000
    return _int_file(cgroup.controller_dir("cpuacct") / "cpuacct.usage")


def _system_ns() -> int:
    """The host's CPU time: user, nice, system, idle, iowait, irq, softirq of /proc/stat's
    `cpu` line (Docker's sum; steal and guest left out)."""
    first = _read(Path("/proc/stat")).partition("\n")[0].split()
    return sum(int(field) for field in first[1:8] if field.isdigit()) * _NS_PER_TICK


def _memory_usage(cgroup: Cgroup) -> int:
    memory = cgroup.controller_dir("memory")
    v2 = cgroup.version is CgroupVersion.V2
    usage = _int_file(memory / ("memory.current" if v2 else "memory.usage_in_bytes"))
    cache = _keyed(_read(memory / "memory.stat")).get(
        "inactive_file" if v2 else "total_inactive_file", 0
    )
    return usage - cache if cache < usage else usage


def _memory_limit(cgroup: Cgroup) -> int | None:
    v2 = cgroup.version is CgroupVersion.V2
    name = "memory.max" if v2 else "memory.limit_in_bytes"
    text = _read(cgroup.controller_dir("memory") / name)
    return int(text) if text.strip().isdigit() else None


def _host_memory() -> int:
    for line in _read(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _net_bytes(pid: int) -> tuple[int, int]:
    """Received and sent bytes over the container's interfaces (loopback left out, as
    Docker counts only the container's network endpoints)."""
    rx = tx = 0
    for line in _read(Path(f"/proc/{pid}/net/dev")).splitlines()[2:]:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() == "lo" or len(fields) < 9:
            continue
        rx += int(fields[0])
        tx += int(fields[8])
    return rx, tx


def _block_bytes(cgroup: Cgroup) -> tuple[int, int]:
    """Bytes read from and written to block devices by the container's processes."""
    if cgroup.version is CgroupVersion.V2:
        read = written = 0
        for line in _read(cgroup.controller_dir("io") / "io.stat").splitlines():
            fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            read += int(fields.get("rbytes", "0"))
            written += int(fields.get("wbytes", "0"))
        return read, written
    blkio = cgroup.controller_dir("blkio")
    # runc's order: the CFQ scheduler's counters, else the throttling layer's (always there)
    for name in ("blkio.io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive"):
        totals = _blkio_totals(_read(blkio / name))
        if totals != (0, 0):
            return totals
    return 0, 0


def _blkio_totals(text: str) -> tuple[int, int]:
    read = written = 0
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2].isdigit():
            if fields[1] == "Read":
                read += int(fields[2])
            elif fields[1] == "Write":
                written += int(fields[2])
    return read, written
