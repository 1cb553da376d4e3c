"""What the supervisor needs to start one container, fully resolved (paths, ids, argv).

Computed by the engine API at start time and written next to the container record, so the
detached supervisor never has to consult the image store or the Compose layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.cgroups import Limits
from engine.ports import PortSpec, port_spec_from_json

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class BindMount:
    """A host path bind-mounted into the rootfs, already resolved (a volume is its directory by
    now), so the supervisor needs neither the volume store nor the caller's spec."""

    source: str
    target: str
    read_only: bool = False
    # A named volume still empty is filled from the image's content at the target (Docker's
    # copy-up on first use); never done for bind mounts.
    populate: bool = False
    # bind.propagation (engine.mount_propagation); None = Docker's default, rprivate.
    propagation: str | None = None


@dataclass(frozen=True)
class VolumeMount:
    """A host mount a named volume with driver_opts needs while a container uses it (made and
    undone by engine.volume_mounts in the supervisor, in the host's mount namespace)."""

    volume: str
    mountpoint: str  # the volume's _data directory
    fstype: str
    device: str
    flags: int = 0
    data: str = ""


@dataclass(frozen=True)
class TmpfsMount:
    """A tmpfs mounted afresh at every start (its content never outlives a run); `options` is
    the final mount data (mode, size) handed to mount(2), `flags` its mount flags."""

    target: str
    options: str = "mode=1777"
    flags: int = 8 | 2 | 4  # mount(2) flags: MS_NOEXEC | MS_NOSUID | MS_NODEV, Docker's


@dataclass(frozen=True)
class ProcessSpec:
    """The command with the image's defaults applied and the user resolved to numeric ids, so
    init can exec it without the image's /etc/passwd; exec and healthchecks start from it too."""

    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    extra_gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class NetworkRequest:
    """A network the supervisor attaches the container to at start; `names` are all the DNS
    names it answers to there (its aliases, its name and its short id)."""

    network: str
    names: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    mac: str | None = None
    gw_priority: int = 0


@dataclass(frozen=True)
class DeviceNode:
    """A host device made visible in the container's /dev (and allowed by the devices cgroup)."""

    path: str
    kind: str  # "c" or "b"
    major: int
    minor: int
    permissions: str = "rwm"
    file_mode: int = 0o666


@dataclass(frozen=True)
class Rlimit:
    """A `ulimits` entry, checked against the host's limits before anything is created and
    applied with setrlimit by the container's process just before it execs."""

    name: str  # "nofile", "nproc", ... (RLIMIT_ suffix, lower case)
    soft: int
    hard: int


@dataclass(frozen=True)
class HealthcheckConfig:
    """Docker's Healthcheck: `test` is ("CMD", argv...), ("CMD-SHELL", script) or ("NONE",)."""

    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    start_interval: float = 5.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> HealthcheckConfig:
        return cls(**{**raw, "test": tuple(raw["test"])})


@dataclass(frozen=True)
class RuntimeSpec:
    """Everything one start needs, resolved by the engine API and saved beside the record, so
    the detached supervisor never consults the image store, the volume store or Compose."""

    container_id: str
    hostname: str
    lower_dirs: tuple[str, ...]
    upper_dir: str
    work_dir: str
    rootfs_dir: str
    process: ProcessSpec
    hosts_file: str
    hostname_file: str
    resolv_file: str
    log_file: str
    mounts: tuple[BindMount, ...] = ()
    tmpfs: tuple[TmpfsMount, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    networks: tuple[NetworkRequest, ...] = ()
    network_mode: str = "bridge"  # bridge | none | host
    memory_limit: int | None = None
    pids_limit: int | None = None
    read_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # Security: capability names (None = Docker's default set), no_new_privs, seccomp profile.
    capabilities: tuple[str, ...] | None = None
    privileged: bool = False
    no_new_privs: bool = False
    seccomp: bool = True
    domainname: str | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    rlimits: tuple[Rlimit, ...] = ()
    devices: tuple[DeviceNode, ...] = ()
    init: bool = False
    # With init: the host's static tini, bind-mounted read-only at /sbin/docker-init and run
    # as pid 1 (engine.docker_init); None: the built-in Python init.
    init_binary: str | None = None
    tty: bool = False
    stdin_open: bool = False  # without a tty: stdin is a pipe the supervisor keeps open
    stdin_fifo: str | None = None  # stdin_once: the FIFO an attached client writes into
    # stdin_open without stdin_once: the FIFO that is stdin, held open by the supervisor (no
    # EOF ever); `attach` writes into it while the container runs (Engine.open_running_stdin).
    # With a tty, the supervisor's log pump copies it into the pty's master (engine.tty_input).
    open_stdin_fifo: str | None = None
    auto_remove: bool = False  # ContainerSpec.auto_remove
    # tty with stdin_once: the attached client's unix socket, which gets the pty's master
    # (runc's --console-socket); its terminal is the container's then, and nothing is logged.
    console_socket: str | None = None
    shm_size: int | None = None
    oom_score_adj: int | None = None
    resources: Limits = field(default_factory=Limits)
    # Supervision.
    restart_policy: str = "no"  # no | always | unless-stopped | on-failure
    restart_max: int = 0  # on-failure:N (0 = unlimited)
    healthcheck: HealthcheckConfig | None = None
    log_max_size: int | None = None
    log_max_file: int = 1
    pid_mode: str = "private"  # private | host
    uts_mode: str = "private"  # private | host (the host's hostname: none is set)
    cgroupns_mode: str = "private"  # private | host
    cgroup_parent: str | None = None  # the container's cgroup's parent (None: the engine's)
    ipc_mode: str = "private"  # private | host (container:X is resolved to join_ipc_pid)
    join_ipc_pid: int | None = None
    # Networking: published ports, and the pid whose netns to join (network_mode container:).
    ports: tuple[PortSpec, ...] = ()
    join_netns_pid: int | None = None

    def save(self, path: Path) -> None:
        from engine.atomic_files import json_default, write_json

        # Not fsynced: rewritten by every start, read right after it (power cut: nothing runs).
        write_json(path, self, durable=False, default=json_default)

    @classmethod
    def load(cls, path: Path) -> RuntimeSpec:
        raw = json.loads(path.read_text())
        raw["lower_dirs"] = tuple(raw["lower_dirs"])
        proc = raw["process"]
        raw["process"] = ProcessSpec(
            args=tuple(proc["args"]),
            env=tuple(proc["env"]),
            cwd=proc["cwd"],
            uid=proc["uid"],
            gid=proc["gid"],
            extra_gids=tuple(proc["extra_gids"]),
        )
        raw["mounts"] = tuple(BindMount(**m) for m in raw["mounts"])
        raw["tmpfs"] = tuple(TmpfsMount(**m) for m in raw["tmpfs"])
        raw["volume_mounts"] = tuple(VolumeMount(**m) for m in raw.get("volume_mounts", ()))
        raw["networks"] = tuple(
            NetworkRequest(n["network"], tuple(n["names"]), n["ipv4"], n.get("ipv6"), n.get("mac"),
                           int(n.get("gw_priority") or 0))
            for n in raw["networks"]
        )
        if raw.get("capabilities") is not None:
            raw["capabilities"] = tuple(raw["capabilities"])
        raw["rlimits"] = tuple(Rlimit(**r) for r in raw.get("rlimits", ()))
        raw["devices"] = tuple(DeviceNode(**d) for d in raw.get("devices", ()))
        if "resources" in raw:
            raw["resources"] = Limits.from_dict(raw["resources"])
        if raw.get("healthcheck"):
            raw["healthcheck"] = HealthcheckConfig.from_dict(raw["healthcheck"])
        raw["ports"] = tuple(port_spec_from_json(p) for p in raw.get("ports", ()))
        return cls(**raw)
