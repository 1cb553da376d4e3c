"""Every cgroup file write of the engine, for both hierarchies.

This machine mounts cgroup v1 controllers; most current hosts are v2 (unified). The layout is
detected at run time: v2 when /sys/fs/cgroup itself is a cgroup2 mount.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import functools
import os
import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidArgumentError, UnavailableError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "pycompose"
PARENT_RACE_RETRIES = 20  # creates retried when a concurrent `remove` took the empty parent
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer", "cpuset", "devices", "blkio")
CPU_PERIOD_DEFAULT = 100_000
# Docker's default device allow-list (runc's AllowedDevices): null, zero, full, random,
# urandom, tty, console, ptmx, pts/*, tun; mknod of any node is allowed, opening is not.
DEFAULT_DEVICE_RULES = (
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:1 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
    "c 10:200 rwm",
)


class CgroupVersion(enum.Enum):
    V1 = 1
    V2 = 2


@dataclass(frozen=True)
class Limits:
    """Every resource knob of a container; None means "leave the kernel default"."""

    memory_bytes: int | None = None
    pids: int | None = None
    memory_reservation: int | None = None
    memory_swap: int | None = None  # memory + swap; -1 = unlimited swap
    oom_kill_disable: bool = False
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    blkio_weight: int | None = None
    memory_swappiness: int | None = None  # v1 only (v2 has no such knob)
    # v1 devices cgroup rules ("c 1:3 rwm"); empty = do not restrict (privileged).
    device_rules: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Limits:
        values = dict(raw)
        values["device_rules"] = tuple(values.get("device_rules") or ())  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


class LimitError(OSError):
    """The kernel refused one limit; `key` names the Compose option it came from."""

    def __init__(self, key: str, value: object, cause: OSError) -> None:
        self.message = f"{key}: the kernel refused {value!r}: {cause.strerror}"
        super().__init__(cause.errno, self.message)
        self.key = key

    def __str__(self) -> str:  # the key and the kernel's word, without OSError's "[Errno N]"
        return self.message


_VERSIONS: dict[Path, CgroupVersion] = {}


def detect_version(root: Path = CGROUP_ROOT) -> CgroupVersion:
    """The hierarchy's version; the host's is looked up once per process (the fork server
    does it for every supervisor and start-up helper: `prewarm`)."""
    found = _VERSIONS.get(root)
    if found is None:
        found = (CgroupVersion.V2 if (root / "cgroup.controllers").exists()
                 else CgroupVersion.V1)
        if root == CGROUP_ROOT:
            _VERSIONS[root] = found
    return found


def prewarm() -> None:
    """Look up the host's cgroup version and mounted v1 controllers now, in a fork server:
    its children share the answer instead of each making ~10 stat calls of its own."""
    if detect_version() is CgroupVersion.V1:
        _mounted_v1(CGROUP_ROOT)


@dataclass(frozen=True)
class Cgroup:
    """One container's cgroup: one dir on v2, one dir per controller on v1."""

    name: str
    version: CgroupVersion
    root: Path = CGROUP_ROOT
    # The dir above the container's, relative to the hierarchy's root: the engine's own, or
    # a `cgroup_parent` (any depth, as "a/b"); tests use their own.
    parent: str = PARENT
    # The engine's own parent (True) is set up for quick creates and removed when empty; a
    # `cgroup_parent` is its owner's, and may carry their settings: left as it is found.
    own_parent: bool = True

    def dirs(self) -> list[Path]:
        return list(self._dirs)

    @functools.cached_property
    def _dirs(self) -> tuple[Path, ...]:
        """Made once per object: a start asks for them twice (create, join), ~12 on v1."""
        if self.version is CgroupVersion.V2:
            return (Path(f"{self.root}/{self.parent}/{self.name}"),)
        return tuple(
            Path(f"{self.root}/{ctrl}/{self.parent}/{self.name}")
            for ctrl in _mounted_v1(self.root)
        )

    def memory_dir(self) -> Path:
        if self.version is CgroupVersion.V2:
            return self.root / self.parent / self.name
        return self.root / "memory" / self.parent / self.name

    def create(self, limits: Limits) -> None:
        self._make_dirs()
        try:
            if self.version is CgroupVersion.V1:
                self._init_v1_cpuset(limits)
            self._apply(limits)
        except LimitError as exc:
            self.remove()
            raise InvalidArgumentError(f"invalid resource limit: {exc}", subject=self.name) from exc
        except OSError as exc:
            self.remove()
            raise UnavailableError(f"cannot apply cgroup limits: {exc}", subject=self.name) from exc

    def _make_dirs(self) -> None:
        """Parent, then the container's dir. The last container's `remove` deletes an empty
        parent, so it may vanish between the two mkdirs: then make it again (bounded); once
        the container's dir exists the kernel keeps the parent."""
        for attempt in range(PARENT_RACE_RETRIES):
            try:
                if self.version is CgroupVersion.V2:
                    self._enable_v2_controllers()
                for path in self._dirs:
                    _mkdir_with_parent(path)
                return
            except (FileNotFoundError, FileExistsError):
                # FileExistsError too: mkdir(exist_ok=True) re-raises EEXIST when the parent it
                # collided with was removed before its own is_dir() check.
                if attempt == PARENT_RACE_RETRIES - 1:
                    raise

    def _init_v1_cpuset(self, limits: Limits) -> None:
        """A v1 cpuset cgroup starts with no cpus and no mems: copy the parent's (or the
        requested ones), level by level, or no task can join it."""
        base = self.root / "cpuset"
        if "cpuset" not in _mounted_v1(self.root):
            return
        own = base / self.parent / self.name
        if limits.cpuset_cpus is None and limits.cpuset_mems is None and all(
            (own / f"cpuset.{name}").read_text().strip() for name in ("cpus", "mems")
        ):
            return  # inherited at mkdir: the parent has clone_children set (below)
        levels: list[tuple[Path, str | None, str | None]] = [
            (base / level, None, None) for level in _levels(self.parent)
        ]
        levels.append((own, limits.cpuset_cpus, limits.cpuset_mems))
        for path, cpus, mems in levels:
            parent = path.parent
            for name, wanted, key in (("cpus", cpus, "cpuset"), ("mems", mems, "cpuset_mems")):
                current = (path / f"cpuset.{name}").read_text().strip()
                value = wanted if wanted is not None else current
                if not value:
                    value = (parent / f"cpuset.{name}").read_text().strip()
                if value != current:
                    _write(path / f"cpuset.{name}", value, key)
        # From now on the kernel copies the parent's cpus and mems into each new container's
        # dir at mkdir (v1 `cgroup.clone_children`): the next creates only read them back.
        # Only in the engine's own parent: a `cgroup_parent`'s settings are its owner's.
        if self.own_parent:
            with contextlib.suppress(OSError):
                _write(base / self.parent / "cgroup.clone_children", 1, "cpuset")

    def _enable_v2_controllers(self) -> None:
        """The controllers the container needs, enabled for the children of every level from
        the root down to its parent (v2 hands a controller down one level at a time)."""
        levels = [self.root / level for level in _levels(self.parent)]
        for level in levels:
            level.mkdir(exist_ok=True)
        available = (self.root / "cgroup.controllers").read_text().split()
        wanted = [c for c in ("memory", "pids", "cpu", "cpuset", "io") if c in available]
        for level in (self.root, *levels):
            control = level / "cgroup.subtree_control"
            enabled = control.read_text().split()
            missing = [c for c in wanted if c not in enabled]
            if missing:
                control.write_text(" ".join(f"+{c}" for c in missing))

    def _apply(self, limits: Limits) -> None:
        if self.version is CgroupVersion.V2:
            self._apply_v2(limits)
        else:
            self._apply_v1(limits)

    def _apply_v1(self, limits: Limits) -> None:
        mem = self.memory_dir()
        if limits.memory_bytes is not None:
            _write(mem / "memory.limit_in_bytes", limits.memory_bytes, "mem_limit")
            memsw = mem / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                swap = (  # Docker: without memswap_limit, as much swap as memory
                    limits.memory_swap if limits.memory_swap is not None
                    else 2 * limits.memory_bytes
                )
                _write(memsw, swap, "memswap_limit")
        elif limits.memory_swap is not None and limits.memory_swap != -1:
            raise LimitError("memswap_limit", limits.memory_swap, OSError(22, "needs mem_limit"))
        if limits.memory_reservation is not None:
            _write(mem / "memory.soft_limit_in_bytes", limits.memory_reservation, "mem_reservation")
        if limits.oom_kill_disable:
            _write(mem / "memory.oom_control", 1, "oom_kill_disable")
        if limits.memory_swappiness is not None:
            _write(mem / "memory.swappiness", limits.memory_swappiness, "mem_swappiness")
        if limits.pids is not None:
            pids_max = self.controller_dir("pids") / "pids.max"
            _write(pids_max, _pids_value(limits.pids), "pids_limit")
        cpu = self.controller_dir("cpu")
        if limits.cpu_shares is not None:
            _write(cpu / "cpu.shares", limits.cpu_shares, "cpu_shares")
        if limits.cpu_period is not None:
            _write(cpu / "cpu.cfs_period_us", limits.cpu_period, "cpu_period")
        if limits.cpu_quota is not None:
            _write(cpu / "cpu.cfs_quota_us", limits.cpu_quota, "cpu_quota")
        if limits.blkio_weight is not None:
            blkio = self.controller_dir("blkio")
            for name in ("blkio.weight", "blkio.bfq.weight"):
                if (blkio / name).exists():
                    _write(blkio / name, limits.blkio_weight, "blkio_config.weight")
                    break
        if limits.device_rules:
            devices = self.controller_dir("devices")
            if devices.is_dir():
                _write(devices / "devices.deny", "a", "devices")
                _write_each(devices / "devices.allow", limits.device_rules, "devices")

    def _apply_v2(self, limits: Limits) -> None:
        path = self.root / self.parent / self.name
        if limits.memory_bytes is not None:
            _write(path / "memory.max", limits.memory_bytes, "mem_limit")
            swap_file = path / "memory.swap.max"
            if swap_file.exists():
                if limits.memory_swap is None:
                    swap: int | str = limits.memory_bytes  # Docker: as much swap as memory
                elif limits.memory_swap == -1:
                    swap = "max"
                else:
                    swap = max(limits.memory_swap - limits.memory_bytes, 0)
                _write(swap_file, swap, "memswap_limit")
        if limits.memory_reservation is not None:
            _write(path / "memory.low", limits.memory_reservation, "mem_reservation")
        if limits.pids is not None:
            _write(path / "pids.max", _pids_value(limits.pids), "pids_limit")
        if limits.cpu_shares is not None:
            # runc's conversion of the v1 shares range [2, 262144] onto weight [1, 10000].
            weight = 1 + ((max(limits.cpu_shares, 2) - 2) * 9999) // 262142
            _write(path / "cpu.weight", weight, "cpu_shares")
        if limits.cpu_quota is not None or limits.cpu_period is not None:
            quota = "max" if limits.cpu_quota in (None, -1) else str(limits.cpu_quota)
            period = limits.cpu_period or CPU_PERIOD_DEFAULT
            _write(path / "cpu.max", f"{quota} {period}", "cpus")
        if limits.cpuset_cpus is not None:
            _write(path / "cpuset.cpus", limits.cpuset_cpus, "cpuset")
        if limits.cpuset_mems is not None:
            _write(path / "cpuset.mems", limits.cpuset_mems, "cpuset_mems")
        if limits.blkio_weight is not None and (path / "io.weight").exists():
            _write(path / "io.weight", f"default {limits.blkio_weight}", "blkio_config.weight")
        if limits.device_rules:
            _attach_device_filter(path, limits.device_rules)

    # ---- freezer ------------------------------------------------------------------------
    def _freezer_file(self) -> tuple[Path, str, str]:
        if self.version is CgroupVersion.V2:
            return self.root / self.parent / self.name / "cgroup.freeze", "1", "0"
        return self.root / "freezer" / self.parent / self.name / "freezer.state", "FROZEN", "THAWED"

    def freeze(self, frozen: bool = True) -> None:
        """Freeze (or thaw) every task of the container; waits until the kernel says done."""
        path, on, off = self._freezer_file()
        path.write_text(on if frozen else off)
        for _attempt in range(500):
            if self.is_frozen() == frozen:
                return
            time.sleep(0.002)

    def is_frozen(self) -> bool:
        path, on, _off = self._freezer_file()
        try:
            if self.version is CgroupVersion.V2:
                events = (path.parent / "cgroup.events").read_text()
                return "frozen 1" in events
            return path.read_text().strip() == on
        except OSError:
            return False

    def controller_dir(self, controller: str) -> Path:
        """Where `controller`'s files of this cgroup are (one dir for all of them on v2)."""
        if self.version is CgroupVersion.V2:
            return self.root / self.parent / self.name
        return self.root / controller / self.parent / self.name

    def join_self(self) -> None:
        """Move the calling process in (`join_self`)."""
        join_self(self._dirs)

    def kill_all(self) -> None:
        """SIGKILL every process still in it: what a start whose supervisor died left running
        (an init half-way through its mounts, a volume's copy-up)."""
        import signal

        for path in self._dirs:
            with contextlib.suppress(OSError):
                for line in (path / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(line), signal.SIGKILL)

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed any process of this cgroup, pid 1 or not (Docker's
        OOMKilled): the oom_kill counter of v2's memory.events (this cgroup and below) or of
        v1's memory.oom_control (kernels since 4.13 have it)."""
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
        briefly (bounded). Cheap when they are gone already (the supervisor removed them and
        the CLI's remove_container asks again): one failed rmdir per controller, no stat."""
        if self.version is CgroupVersion.V2:
            paths = [self.root / self.parent / self.name]
        else:  # an unmounted controller fails like a missing dir: FileNotFoundError
            paths = [self.root / ctrl / self.parent / self.name for ctrl in V1_CONTROLLERS]
        for path in paths:
            if not _rmdir_retrying(path):
                continue  # gone already (whoever removed it saw to the parent) or still busy
            # The last container leaves the machine as found: an empty parent goes too. Other
            # containers' dirs (or a creator's, see _make_dirs) make the kernel refuse: fine.
            # Asked only when no child is listed: a refused rmdir still queues on the kernel's
            # global cgroup mutex, behind every other container's removal. A `cgroup_parent`
            # stays, as Docker leaves it: it is its owner's, and may carry their limits.
            if self.own_parent and not _has_child_groups(path.parent):
                with contextlib.suppress(OSError):
                    os.rmdir(path.parent)


def _rmdir_retrying(path: Path) -> bool:
    """True once this call removed the dir; False if it was not there or stayed busy ~1 s."""
    for _attempt in range(50):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return False
        except OSError:
            time.sleep(0.02)
    return False


def _has_child_groups(path: Path) -> bool:
    """Whether a cgroup dir lists a child group (a directory read takes no cgroup lock). Each
    remover lists after its own rmdir, so the last of several concurrent ones sees none and
    removes the parent; a parent already gone counts as busy (nothing to do)."""
    try:
        with os.scandir(path) as entries:
            return any(entry.is_dir(follow_symlinks=False) for entry in entries)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _attach_device_filter(path: Path, rules: tuple[str, ...]) -> None:
    """v2 has no devices.allow: the same rules become a BPF program on the cgroup (as runc).
    The cgroup keeps the program alive; removing the cgroup frees it."""
    from engine import device_filter_bpf

    try:
        prog_fd = device_filter_bpf.attach(str(path), rules)
    except OSError as exc:
        raise OSError(exc.errno, f"devices: cannot attach the cgroup v2 device filter: "
                      f"{exc.strerror}") from exc
    os.close(prog_fd)


def _pids_value(pids: int) -> str:
    return "max" if pids <= 0 else str(pids)


def _write(path: Path, value: object, key: str) -> None:
    try:
        _write_raw(path, str(value))
    except OSError as exc:
        raise LimitError(key, value, exc) from exc


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def join_self(dirs: Iterable[str | Path]) -> None:
    """Move the calling process into each of `dirs`; for a single-threaded caller (a forked
    child: stage1, a container's init, an exec'd process). On v1 it writes itself to `tasks`:
    a thread moving itself skips the kernel's global threadgroup lock (Linux 5.17+), whose
    write side waits for an RCU grace period: ~10 ms per container start through
    cgroup.procs, 20-50 ms on a busy machine. v2 has no `tasks`: cgroup.procs there."""
    for path in dirs:
        name = f"{path}/tasks"
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            name = f"{path}/cgroup.procs"
            fd = os.open(name, os.O_WRONLY | os.O_CLOEXEC)
        try:
            _write_self(fd, name)
        finally:
            os.close(fd)


def _write_self(fd: int, name: str) -> None:
    try:
        os.write(fd, b"0")
    except OSError as exc:
        if exc.errno != errno.EINVAL or not _leave_realtime():
            raise OSError(exc.errno, exc.strerror, name) from exc
        os.write(fd, b"0")


def _leave_realtime() -> bool:
    """A realtime caller (`chrt -f 1 pycompose up`) cannot join a cpu cgroup without a
    realtime budget (EINVAL). Docker's containers run under the daemon's policy, never the
    client's: the process takes the normal one and joins. False: it was not realtime."""
    if os.sched_getscheduler(0) not in (os.SCHED_FIFO, os.SCHED_RR):
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def _write_raw(path: Path, text: str) -> None:
    """One write(2) to a cgroup file: no text-mode file object (a container's create and join
    make ~25 of these, on every start). The flags of open(path, "w"), as before."""
    fd = os.open(path, _WRITE_FLAGS, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _write_each(path: Path, values: tuple[str, ...], key: str) -> None:
    """Several values to one cgroup file, one write(2) each through one open (v1 devices.allow
    takes one rule per write)."""
    try:
        fd = os.open(path, _WRITE_FLAGS, 0o644)
    except OSError as exc:
        raise LimitError(key, values[0], exc) from exc
    try:
        for value in values:
            try:
                os.write(fd, value.encode())
            except OSError as exc:
                raise LimitError(key, value, exc) from exc
    finally:
        os.close(fd)


def _mkdir_with_parent(path: Path) -> None:
    """The container's dir; its parent only when missing (the first container, or the first
    after the last one's `remove` took it): one mkdir per controller on the usual path. A
    parent that vanishes in between raises FileNotFoundError: the caller retries."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)


_MOUNTED: dict[Path, tuple[str, ...]] = {}


def _mounted_v1(root: Path) -> tuple[str, ...]:
    """The v1 controllers mounted under `root`. Controllers are not mounted or unmounted under
    a running engine, so the host's are looked up once per process (a stat each, three times
    per container start before); other roots (tests' stand-ins) every time."""
    found = _MOUNTED.get(root)
    if found is None:
        found = tuple(c for c in V1_CONTROLLERS if (root / c).is_dir())
        if root == CGROUP_ROOT and found:
            _MOUNTED[root] = found
    return found


def swappiness_supported(root: Path = CGROUP_ROOT) -> bool:
    """Whether containers can be given a memory swappiness: v1's memory.swappiness; cgroup v2
    has no such file (Docker discards the setting there, with a warning)."""
    return detect_version(root) is CgroupVersion.V1


def available_cpuset(kind: str, root: Path = CGROUP_ROOT) -> str | None:
    """The CPUs (`kind` "cpus") or memory nodes ("mems") containers may be given, as the
    kernel lists them ("0-3,6"): the root cpuset's effective ones, as Docker's sysinfo reads
    them; None when the host does not say."""
    if detect_version(root) is CgroupVersion.V2:
        candidates = [root / f"cpuset.{kind}.effective"]
    else:
        base = root / "cpuset"
        candidates = [base / f"cpuset.effective_{kind}", base / f"cpuset.{kind}"]
    candidates.append(Path(f"/sys/devices/system/{'cpu' if kind == 'cpus' else 'node'}/online"))
    for path in candidates:
        try:
            return path.read_text().strip()
        except OSError:
            continue
    return None


def parent_path(cgroup_parent: str | None) -> str:
    """A `cgroup_parent` as a path below the hierarchy's root, as Docker's cgroupfs driver
    takes it ("/a/b", "a/b/" -> "a/b"; ".." cannot climb above the root); the engine's own
    parent when none is given."""
    if not cgroup_parent or not cgroup_parent.strip("/"):
        return PARENT
    return posixpath.normpath("/" + cgroup_parent).lstrip("/") or PARENT


def _levels(parent: str) -> list[str]:
    """"a/b" -> ["a", "a/b"]: each dir from the root down to the parent."""
    parts = parent.split("/")
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def container_cgroup(container_id: str, cgroup_parent: str | None = None) -> Cgroup:
    parent = parent_path(cgroup_parent)
    return Cgroup(name=container_id[:64], version=detect_version(), parent=parent,
                  own_parent=parent == PARENT)
