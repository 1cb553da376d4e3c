"""Helpers shared by the runtime integration tests: run a busybox script to exit, read output."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from engine.api import ContainerSpec, Engine


def sh(name: str, script: str, **extra: object) -> ContainerSpec:
    return ContainerSpec(name=name, image="busybox", command=("sh", "-c", script), **extra)  # type: ignore[arg-type]


def output_of(engine: Engine, name_or_id: str) -> str:
    return "".join(line.text for line in engine.logs(name_or_id))


def run_to_exit(engine: Engine, spec: ContainerSpec, timeout: float = 30) -> tuple[int, str]:
    info = engine.create_container(spec)
    engine.start_container(info.id)
    code = engine.wait_container(info.id, timeout=timeout)
    output = output_of(engine, info.id)
    assert code is not None, f"{spec.name} did not exit in {timeout}s; output so far: {output}"
    return code, output


def status_field(output: str, key: str) -> str:
    for line in output.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{key} not in output: {output}")


def private_kb(pid: int) -> int:
    """USS: pages this process alone maps (its copies of the fork server's pages included)."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def wait_http(url: str, attempts: int = 50) -> bytes:
    """The body at `url` (a published port on loopback), once it answers."""
    last: Exception | None = None
    for _ in range(attempts):  # bounded: 50 x 0.1 s
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return bytes(reply.read())
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer: {last}")


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (from /proc; a process gone meanwhile is skipped)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if int(raw.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def processes_in_cgroup_of(container_id: str) -> list[int]:
    """The pids whose /proc/<pid>/cgroup names the container: every copy of its command,
    recorded or not (what `ps` of the engine cannot show when a start ran twice)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if container_id in (entry / "cgroup").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def cgroup2_mount() -> Path | None:
    """A cgroup2 mount: the whole tree on a v2 host, the hybrid host's `unified` one here."""
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return Path(fields[4])
    return None
