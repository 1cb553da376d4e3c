"""Every cgroup file write of the engine, for both hierarchies.

This machine mounts cgroup v1 controllers; most current hosts are v2 (unified). The layout is
detected at run time: v2 when /sys/fs/cgroup itself is a cgroup2 mount.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UnavailableError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "pycompose"
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")


class CgroupVersion(enum.Enum):
    V1 = 1
    V2 = 2


@dataclass(frozen=True)
class Limits:
    memory_bytes: int | None = None
    pids: int | None = None


def detect_version(root: Path = CGROUP_ROOT) -> CgroupVersion:
    return CgroupVersion.V2 if (root / "cgroup.controllers").exists() else CgroupVersion.V1


@dataclass(frozen=True)
class Cgroup:
    """One container's cgroup: one dir on v2, one dir per controller on v1."""

    name: str
    version: CgroupVersion
    root: Path = CGROUP_ROOT

    def dirs(self) -> list[Path]:
        if self.version is CgroupVersion.V2:
            return [self.root / PARENT / self.name]
        return [
            self.root / ctrl / PARENT / self.name
            for ctrl in V1_CONTROLLERS
            if (self.root / ctrl).is_dir()
        ]

    def memory_dir(self) -> Path:
        if self.version is CgroupVersion.V2:
            return self.root / PARENT / self.name
        return self.root / "memory" / PARENT / self.name

    def create(self, limits: Limits) -> None:
        if self.version is CgroupVersion.V2:
            self._enable_v2_controllers()
        for path in self.dirs():
            path.mkdir(parents=True, exist_ok=True)
        try:
            self._apply(limits)
        except OSError as exc:
            self.remove()
            raise UnavailableError(f"cannot apply cgroup limits: {exc}", subject=self.name) from exc

    def _enable_v2_controllers(self) -> None:
        parent = self.root / PARENT
        parent.mkdir(exist_ok=True)
        available = (self.root / "cgroup.controllers").read_text().split()
        wanted = [c for c in ("memory", "pids", "cpu") if c in available]
        for level in (self.root, parent):
            control = level / "cgroup.subtree_control"
            enabled = control.read_text().split()
            missing = [c for c in wanted if c not in enabled]
            if missing:
                control.write_text(" ".join(f"+{c}" for c in missing))

    def _apply(self, limits: Limits) -> None:
        mem = self.memory_dir()
        if limits.memory_bytes is not None:
            if self.version is CgroupVersion.V2:
                (mem / "memory.max").write_text(str(limits.memory_bytes))
                swap = mem / "memory.swap.max"
                if swap.exists():
                    swap.write_text("0")
            else:
                (mem / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                memsw = mem / "memory.memsw.limit_in_bytes"
                if memsw.exists():
                    memsw.write_text(str(limits.memory_bytes))
        if limits.pids is not None:
            pids_dir = self._controller_dir("pids")
            (pids_dir / "pids.max").write_text(str(limits.pids))

    def _controller_dir(self, controller: str) -> Path:
        if self.version is CgroupVersion.V2:
            return self.root / PARENT / self.name
        return self.root / controller / PARENT / self.name

    def join(self, pid: int) -> None:
        for path in self.dirs():
            (path / "cgroup.procs").write_text(str(pid))

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed a process of this cgroup (Docker's OOMKilled)."""
        mem = self.memory_dir()
        name = "memory.events" if self.version is CgroupVersion.V2 else "memory.oom_control"
        try:
            text = (mem / name).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def memory_limit(self) -> int | None:
        mem = self.memory_dir()
        name = "memory.max" if self.version is CgroupVersion.V2 else "memory.limit_in_bytes"
        try:
            raw = (mem / name).read_text().strip()
        except OSError:
            return None
        return None if raw == "max" else int(raw)

    def remove(self) -> None:
        """Remove the dirs; the kernel refuses while a dying process is still accounted, so retry
        briefly (bounded)."""
        for path in self.dirs():
            for _attempt in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def container_cgroup(container_id: str) -> Cgroup:
    return Cgroup(name=container_id[:64], version=detect_version())
