"""Turn a container's request (Docker's HostConfig options) into the runtime's resolved settings.

Pure apart from reading the image's /etc/group, the host's device nodes and the engine's own
rlimits/capabilities: every check that can be made before anything is created is made here,
so bad input fails with an error naming the container and the option, and nothing is left.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable

from engine import capabilities
from engine import mount_flags as mf
from engine.cgroups import CPU_PERIOD_DEFAULT, DEFAULT_DEVICE_RULES, Limits, available_cpuset
from engine.containers import ContainerSpec, MountKind
from engine.docker_init import find_init_binary
from engine.errors import InvalidArgumentError
from engine.ports import check_port
from engine.process_config import image_file
from engine.resource_checks import check_resources, limit
from engine.rlimits import check_ulimit
from engine.runtime_spec import DeviceNode, HealthcheckConfig, Rlimit, TmpfsMount
from engine.spec_checks import check_dns, check_env, check_mount_targets, check_uts_names

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

# Docker's namespaced sysctls (moby's ValidateSysctl): IPC ones, mqueue, and net.* with a
# private network namespace.
IPC_SYSCTLS = frozenset(
    {
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    }
)

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_NANOS = 1_000_000_000


def _bad(spec: ContainerSpec, key: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"container {spec.name}: {key}: {message}", subject=spec.name)


def parse_restart_policy(spec: ContainerSpec) -> tuple[str, int]:
    text = (spec.restart_policy or "no").strip()
    name, _, count = text.partition(":")
    if name not in RESTART_POLICIES or (count and (name != "on-failure" or not count.isdigit())):
        raise _bad(
            spec, "restart", f"invalid restart policy {text!r} (no, always, unless-stopped, "
            "on-failure[:max-retries])"
        )
    return name, int(count) if count else 0


def parse_security_opt(spec: ContainerSpec) -> tuple[bool, bool]:
    """(no_new_privs, seccomp enabled) from `security_opt`."""
    no_new_privs, seccomp = False, True
    for raw in spec.security_opt:
        key, sep, value = raw.replace("=", ":", 1).partition(":")
        key = key.strip()
        value = value.strip().lower()
        if key == "no-new-privileges":
            if value not in ("", "true", "false"):
                raise _bad(spec, "security_opt", f"invalid no-new-privileges value {value!r}")
            no_new_privs = value != "false"
        elif key == "seccomp" and sep:
            if value != "unconfined":
                raise _bad(
                    spec,
                    "security_opt",
                    f"seccomp={value}: only the default profile and 'unconfined' are supported",
                )
            seccomp = False
        elif key in ("label", "apparmor"):
            continue  # no LSM on this engine; Docker ignores them where the LSM is absent too
        else:
            raise _bad(spec, "security_opt", f"unknown security option {raw!r}")
    return no_new_privs, seccomp


def check_sysctls(spec: ContainerSpec) -> dict[str, str]:
    """Docker's (and runc's) rules: only namespaced sysctls, and only in a namespace of the
    container's own. A key the host does not have at all is refused here too; a net.* key
    can only be looked up in the container's network namespace (per-interface ones, as
    net.ipv4.conf.eth0.*, exist only there): its absence is reported at start."""
    for key in spec.sysctls:
        ipc = key in IPC_SYSCTLS or key.startswith("fs.mqueue.")
        if ipc and spec.ipc_mode == "host":
            raise _bad(spec, "sysctls", f"{key} cannot be set with ipc: host (it would change "
                       "the host's IPC namespace)")
        if ipc and not os.path.exists("/proc/sys/" + key.replace(".", "/")):
            raise _bad(spec, "sysctls", f"{key}: no such sysctl on this kernel")
        namespaced = ipc
        if key.startswith("net."):
            if spec.network_mode == "host":
                raise _bad(
                    spec, "sysctls", f"{key} cannot be set with network_mode: host (it would "
                    "change the host's network stack)"
                )
            namespaced = True
        if not namespaced:
            raise _bad(
                spec,
                "sysctls",
                f"{key} is not a namespaced sysctl: setting it would change the whole host",
            )
    return {k: str(v) for k, v in spec.sysctls.items()}


def resolve_groups(spec: ContainerSpec, lowers: list[str]) -> tuple[int, ...]:
    if not spec.group_add:
        return ()
    group_file = image_file(lowers, "/etc/group")
    table: dict[str, int] = {}
    if group_file:
        with open(group_file, encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 3 and fields[2].isdigit():
                    table.setdefault(fields[0], int(fields[2]))
    gids = []
    for group in spec.group_add:
        if group.isdigit():
            gids.append(int(group))
        elif group in table:
            gids.append(table[group])
        else:
            raise _bad(spec, "group_add", f"unable to find group {group}: no matching entries "
                       "in the image's /etc/group")
    return tuple(gids)


def device_mapping(spec: ContainerSpec, raw: str) -> tuple[str, str, str]:
    """(host path, container path, cgroup permissions) of `/dev/host[:/dev/ctr][:rwm]`; a
    malformed one is refused at create (the host's device is looked up at start, as Docker
    does)."""
    parts = raw.split(":")
    host = parts[0]
    target = host
    perms = "rwm"
    if len(parts) == 2:
        if set(parts[1]) <= set("rwm") and parts[1]:
            perms = parts[1]
        else:
            target = parts[1]
    elif len(parts) >= 3:
        target, perms = parts[1], parts[2]
    if len(parts) > 3 or not perms or not set(perms) <= set("rwm") or not target.startswith("/"):
        raise _bad(spec, "devices", f"invalid device mapping {raw!r}: HOST_PATH[:CONTAINER_PATH]"
                   "[:PERMISSIONS], the paths absolute and the permissions of r, w and m")
    return host, target, perms


def parse_devices(spec: ContainerSpec) -> tuple[DeviceNode, ...]:
    nodes = []
    for raw in spec.devices:
        host, target, perms = device_mapping(spec, raw)
        try:
            info = os.stat(host)
        except OSError as exc:
            raise _bad(spec, "devices", f"error gathering device information for {host!r}: "
                       f"{exc.strerror}") from exc
        if stat.S_ISCHR(info.st_mode):
            kind = "c"
        elif stat.S_ISBLK(info.st_mode):
            kind = "b"
        else:
            raise _bad(spec, "devices", f"{host} is not a device node")
        nodes.append(
            DeviceNode(target, kind, os.major(info.st_rdev), os.minor(info.st_rdev), perms,
                       stat.S_IMODE(info.st_mode))
        )
    return tuple(nodes)


def parse_cpu_list(text: str) -> set[int] | None:
    """Docker's cpuset list ("0-2,4", parsers.ParseUintList): the numbers; None if malformed."""
    numbers: set[int] = set()
    if not text:
        return numbers
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            return None
        first, last = int(low), int(high) if dash else int(low)
        if first > last:
            return None
        numbers.update(range(first, last + 1))
    return numbers


def check_cpuset(spec: ContainerSpec) -> None:
    """Docker's check at create: the requested CPUs and memory nodes exist and are the
    host's to give (else the kernel's bare ERANGE or EINVAL at the cgroup write)."""
    for key, value, kind, what in (
        ("cpuset", spec.cpuset_cpus, "cpus", "CPU"),
        ("cpuset_mems", spec.cpuset_mems, "mems", "memory node"),
    ):
        if value is None:
            continue
        wanted = parse_cpu_list(value.strip())
        if wanted is None:
            raise _bad(spec, key, f"invalid value {value!r}: a list of {what} numbers and "
                       "ranges is expected, as 0-2,4")
        listed = available_cpuset(kind)
        available = parse_cpu_list(listed) if listed is not None else None
        if available is not None and not wanted <= available:
            raise _bad(spec, key, f"requested {what}s are not available - requested {value}, "
                       f"available: {listed}")


# Docker's device cgroup rule (opts.ValidateDeviceCgroupRule): type, major:minor, access.
# Patterns compiled on first use (re caches them): compiling at import cost every `run`.
_DEVICE_CGROUP_RULE = r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})"


def device_cgroup_rules(spec: ContainerSpec) -> tuple[str, ...]:
    """`device_cgroup_rules`, checked as Docker checks them; the devices cgroup's own syntax
    on v1, and what the v2 device filter reads (engine.device_filter_bpf)."""
    for rule in spec.device_cgroup_rules:
        if not re.fullmatch(_DEVICE_CGROUP_RULE, rule):
            raise _bad(spec, "device_cgroup_rules", f"invalid device cgroup rule format: "
                       f"{rule!r} (TYPE MAJOR:MINOR ACCESS, as 'c 1:3 rwm' or 'b 8:* r')")
    return tuple(spec.device_cgroup_rules)


def namespace_sharing(spec: ContainerSpec) -> dict[str, Any]:
    """`uts` and `cgroup` (host | private), and where the container's cgroup goes."""
    uts = spec.uts_mode or "private"
    if uts not in ("private", "host"):
        raise _bad(spec, "uts", f"invalid UTS mode {uts!r} (host)")
    if uts == "host":
        for key, value in (("hostname", spec.hostname), ("domainname", spec.domainname)):
            if value:  # they would rename the host
                raise _bad(spec, key, f"conflicting options: {key} and the UTS mode (uts: host "
                           "shares the host's)")
    cgroupns = spec.cgroupns_mode or "private"
    if cgroupns not in ("private", "host"):
        raise _bad(spec, "cgroup", f"invalid cgroup namespace mode {cgroupns!r} (host or "
                   "private)")
    return {"uts_mode": uts, "cgroupns_mode": cgroupns, "cgroup_parent": spec.cgroup_parent}


def check_ulimits(spec: ContainerSpec) -> tuple[Rlimit, ...]:
    limits = []
    for name, (soft, hard) in spec.ulimits.items():
        soft, hard = check_ulimit(f"container {spec.name}", name, soft, hard)
        limits.append(Rlimit(name, soft, hard))
    return tuple(limits)


def resources(spec: ContainerSpec, devices: tuple[DeviceNode, ...]) -> Limits:
    """The cgroup limits, zeros read as Docker reads them (unset); checked again as at
    create, for a record written before a check was added."""
    check_resources(spec)
    check_cpuset(spec)
    quota, period = limit(spec.cpu_quota), limit(spec.cpu_period)
    if spec.cpus:
        period = period or CPU_PERIOD_DEFAULT
        quota = int(spec.cpus * period)
    rules: tuple[str, ...] = ()
    if not spec.privileged:  # Docker: a privileged container's devices cgroup allows all
        rules = DEFAULT_DEVICE_RULES + tuple(
            f"{d.kind} {d.major}:{d.minor} {d.permissions}" for d in devices
        ) + device_cgroup_rules(spec)
    return Limits(
        memory_bytes=limit(spec.memory_limit),
        pids=spec.pids_limit,  # Docker: 0 or below is no limit, as the cgroup writer reads it
        memory_reservation=limit(spec.mem_reservation),
        memory_swap=limit(spec.memswap_limit),
        oom_kill_disable=spec.oom_kill_disable,
        cpu_shares=limit(spec.cpu_shares),
        cpu_quota=quota,
        cpu_period=period,
        cpuset_cpus=spec.cpuset_cpus,
        cpuset_mems=spec.cpuset_mems,
        blkio_weight=limit(spec.blkio_weight),
        memory_swappiness=None if spec.mem_swappiness == -1 else spec.mem_swappiness,
        device_rules=rules,
    )


def image_healthcheck(config_document: dict[str, Any]) -> HealthcheckConfig | None:
    """An image's HEALTHCHECK (durations in nanoseconds, 0 = default)."""
    raw = (config_document.get("config") or {}).get("Healthcheck")
    if not raw or not raw.get("Test"):
        return None
    return HealthcheckConfig(
        test=tuple(raw["Test"]),
        interval=(raw.get("Interval") or 30 * _NANOS) / _NANOS,
        timeout=(raw.get("Timeout") or 30 * _NANOS) / _NANOS,
        retries=raw.get("Retries") or 3,
        start_period=(raw.get("StartPeriod") or 0) / _NANOS,
        start_interval=(raw.get("StartInterval") or 5 * _NANOS) / _NANOS,
    )


def healthcheck(spec: ContainerSpec, image_check: HealthcheckConfig | None) -> (
    HealthcheckConfig | None
):
    check = spec.healthcheck or image_check
    if check is None or not check.test or check.test[0] == "NONE":
        return None
    if check.test[0] not in ("CMD", "CMD-SHELL") or len(check.test) < 2:
        raise _bad(spec, "healthcheck.test", f"invalid test {list(check.test)!r}: it must "
                   "start with CMD, CMD-SHELL or NONE")
    for key in ("interval", "timeout", "start_interval"):
        if getattr(check, key) <= 0:
            raise _bad(spec, f"healthcheck.{key}", "must be positive")
    return check


def namespace_modes(
    spec: ContainerSpec, find_running_pid: Callable[[str], int | None] | None
) -> dict[str, Any]:
    """`pid` (private | host) and `ipc` (private | shareable | host | container:NAME)."""
    pid_mode = spec.pid_mode or "private"
    if pid_mode not in ("private", "host"):
        raise _bad(spec, "pid", f"unsupported pid mode {pid_mode!r} (host or private)")
    ipc_mode = spec.ipc_mode or "private"
    join = None
    if ipc_mode.startswith("container:"):
        other = ipc_mode.removeprefix("container:")
        join = find_running_pid(other) if find_running_pid else None
        if join is None:
            raise _bad(spec, "ipc", f"container {other} is not running: cannot join its IPC "
                       "namespace")
        ipc_mode = "private"
    elif ipc_mode == "shareable":
        ipc_mode = "private"  # every private IPC namespace here can be joined
    elif ipc_mode not in ("private", "host"):
        raise _bad(spec, "ipc", f"unsupported ipc mode {ipc_mode!r}")
    return {"pid_mode": pid_mode, "ipc_mode": ipc_mode, "join_ipc_pid": join}


def check_at_create(spec: ContainerSpec) -> None:
    """What Docker refuses at create (its verifyContainerSettings): values that depend only on
    the spec and the host, so a bad one leaves no container behind, as with `docker create`.
    The start checks them again (and what needs a running peer or a device)."""
    parse_security_opt(spec)
    parse_restart_policy(spec)
    check_sysctls(spec)
    check_ulimits(spec)
    check_cpuset(spec)
    check_resources(spec)
    check_dns(spec)
    check_env(spec)
    check_mount_targets(spec)
    check_uts_names(spec)
    namespace_modes(spec, lambda _peer: 0)  # the modes' words: a peer is looked up at start
    namespace_sharing(spec)
    for raw in spec.devices:
        device_mapping(spec, raw)
    device_cgroup_rules(spec)
    capabilities.resolve(spec.cap_add, spec.cap_drop, spec.privileged, f"container {spec.name}")
    if spec.oom_score_adj is not None and not -1000 <= spec.oom_score_adj <= 1000:
        raise _bad(spec, "oom_score_adj", "must be between -1000 and 1000")
    for target in spec.tmpfs:
        tmpfs_mount(spec, target)
    for mount in spec.mounts:
        if mount.kind is MountKind.TMPFS:
            tmpfs_mount(spec, mount.target, mount.read_only)
    subject = f"container {spec.name}"
    for port in spec.ports:
        try:
            check_port(port, subject)
        except InvalidArgumentError as exc:  # the key named, as for every other option
            text = str(exc).removeprefix(f"{subject}: ")
            raise InvalidArgumentError(f"{subject}: ports: {text}", subject=spec.name,
                                       hint=exc.hint) from None


def runtime_options(
    spec: ContainerSpec,
    lowers: list[str],
    config_document: dict[str, Any],
    find_running_pid: Callable[[str], int | None] | None = None,
) -> dict[str, Any]:
    """The RuntimeSpec fields for the options above (keyword arguments)."""
    no_new_privs, seccomp = parse_security_opt(spec)
    restart, restart_max = parse_restart_policy(spec)
    devices = parse_devices(spec)
    if spec.oom_score_adj is not None and not -1000 <= spec.oom_score_adj <= 1000:
        raise _bad(spec, "oom_score_adj", "must be between -1000 and 1000")
    return {
        "capabilities": capabilities.resolve(
            spec.cap_add, spec.cap_drop, spec.privileged, f"container {spec.name}"
        ),
        "privileged": spec.privileged,
        "no_new_privs": no_new_privs,
        "seccomp": seccomp,
        "domainname": spec.domainname,
        "sysctls": check_sysctls(spec),
        "rlimits": check_ulimits(spec),
        "devices": devices,
        "init": spec.init,
        "init_binary": find_init_binary() if spec.init else None,
        "tty": spec.tty,
        "stdin_open": spec.stdin_open,
        "auto_remove": spec.auto_remove,
        "shm_size": limit(spec.shm_size),  # Docker: 0 is the default size
        "oom_score_adj": spec.oom_score_adj,
        "resources": resources(spec, devices),
        "restart_policy": restart,
        "restart_max": restart_max,
        "healthcheck": healthcheck(spec, image_healthcheck(config_document)),
        "log_max_size": spec.log_max_size,
        "log_max_file": spec.log_max_file or 1,
        **namespace_modes(spec, find_running_pid),
        **namespace_sharing(spec),
    }


# tmpfs option words that are mount flags (moby/sys/mount's parseOptions): word -> (flag,
# set it?). Later words win (`rw` after `ro`), as Docker's MergeTmpfsOptions.
_MOUNT_FLAG_WORDS = {
    "defaults": (0, False),
    "ro": (mf.MS_RDONLY, True), "rw": (mf.MS_RDONLY, False),
    "nosuid": (mf.MS_NOSUID, True), "suid": (mf.MS_NOSUID, False),
    "nodev": (mf.MS_NODEV, True), "dev": (mf.MS_NODEV, False),
    "noexec": (mf.MS_NOEXEC, True), "exec": (mf.MS_NOEXEC, False),
    "sync": (mf.MS_SYNCHRONOUS, True), "async": (mf.MS_SYNCHRONOUS, False),
    "dirsync": (mf.MS_DIRSYNC, True),
    "mand": (mf.MS_MANDLOCK, True), "nomand": (mf.MS_MANDLOCK, False),
    "noatime": (mf.MS_NOATIME, True), "atime": (mf.MS_NOATIME, False),
    "nodiratime": (mf.MS_NODIRATIME, True), "diratime": (mf.MS_NODIRATIME, False),
    "relatime": (mf.MS_RELATIME, True), "norelatime": (mf.MS_RELATIME, False),
    "strictatime": (mf.MS_STRICTATIME, True), "nostrictatime": (mf.MS_STRICTATIME, False),
}
# Propagation words Docker accepts there too; a tmpfs is private here whatever they say.
_PROPAGATION_WORDS = frozenset(
    {"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
     "runbindable"}
)
# Docker's defaults for every tmpfs (HostConfig.Tmpfs and tmpfs mounts alike).
TMPFS_DEFAULT_FLAGS = mf.MS_NOEXEC | mf.MS_NOSUID | mf.MS_NODEV
_KERNEL_SIZE = r"(?i)(0x[0-9a-f]+|[0-9]+)[kmgtpe]?"  # memparse (compiled on first use)


def _tmpfs_value_problem(key: str, value: str) -> str | None:
    """What tmpfs would refuse in `key=value`, said plainly; None when it is fine."""
    if key in ("size", "nr_blocks", "nr_inodes"):
        if re.fullmatch(_KERNEL_SIZE, value) or (key == "size" and re.fullmatch(r"[0-9]+%", value)):
            return None
        what = "a number of bytes" if key == "size" else "a number"
        extra = ", or a percentage of the memory" if key == "size" else ""
        return (f"invalid {key} {value!r}: it must be {what}, with an optional k, m or g "
                f"suffix{extra}")
    if key == "mode":
        return None if re.fullmatch(r"[0-7]{1,4}", value) else (
            f"invalid mode {value!r}: it must be octal, as 1777")
    if key in ("uid", "gid"):
        return None if value.isdigit() else f"invalid {key} {value!r}: it must be a number"
    if key == "mpol":
        return None if value else "invalid mpol: empty"
    return f"invalid tmpfs option {key!r} (size, mode, uid, gid, nr_inodes, nr_blocks, mpol)"


def tmpfs_mount(spec: ContainerSpec, target: str, read_only: bool = False) -> TmpfsMount:
    """A tmpfs as Docker mounts it: noexec,nosuid,nodev unless the options say otherwise,
    their flag words as mount flags, the rest as the data tmpfs reads (mode 1777 unless
    given). Every value tmpfs would refuse is refused here, naming the mount and the option,
    before anything is made. `read_only`: a tmpfs mount's own (Docker's `ro` for it)."""
    if not target.startswith("/"):  # Docker: "invalid mount path: 'x' mount path must be absolute"
        raise _bad(spec, "tmpfs", f"invalid mount path: {target!r} mount path must be absolute")
    extra = spec.tmpfs.get(target) or spec.mount_options.get(target) or ""
    flags = TMPFS_DEFAULT_FLAGS | (mf.MS_RDONLY if read_only else 0)
    data: list[str] = []
    for option in (o.strip() for o in extra.split(",")):
        if not option or option in _PROPAGATION_WORDS:
            continue
        if option in _MOUNT_FLAG_WORDS:
            flag, on = _MOUNT_FLAG_WORDS[option]
            flags = flags | flag if on else flags & ~flag
            continue
        key, sep, value = option.partition("=")
        problem = _tmpfs_value_problem(key, value) if sep else (
            f"invalid tmpfs option {option!r}")
        if problem:
            raise _bad(spec, "tmpfs", f"{target}: {problem}")
        data.append(option)
    if not any(o.startswith("mode=") for o in data):
        data.append("mode=1777")
    return TmpfsMount(target, ",".join(data), flags)
