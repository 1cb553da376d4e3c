"""Build the container's filesystem view inside its own mount namespace, then pivot_root.

Runs in the container's init process after unshare(CLONE_NEWNS): every mount made here lives
and dies with that namespace, so nothing can leak into the host's mount table.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
from pathlib import Path

from engine import mount_propagation as propagation
from engine import syscalls as sc
from engine.docker_init import CONTAINER_PATH
from engine.root_paths import resolve_in_root
from engine.runtime_spec import DeviceNode, RuntimeSpec

# Docker's default device nodes: (name, major, minor).
DEVICES = (
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
)
DEV_LINKS = (
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
)
MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
)
# `privileged`: every device node of the host's /dev is made in the container's too (containerd's
# HostDevices, which Docker uses), except under these directories (the container has its own
# pts, shm and mqueue; fd is a link) and /dev/console.
HOST_DEV_SKIPPED_DIRS = frozenset({"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"})
V1_CGROUP_MOUNTS = ("blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def _inside(rootfs: str, target: str) -> str:
    """Where `target` is for the container: resolved in its root (`engine.root_paths`).
    The mounts and files made here, before pivot_root, are made through host paths: joined
    plainly, an image's `/data -> /etc` would make a volume's mount point, a tmpfs or /proc
    land on the host's /etc, and fill an empty volume with the host's files."""
    return resolve_in_root(rootfs, target)


def _ensure_mountpoint(path: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(path, exist_ok=True)
    elif not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(path).touch()


def _bind(source: str, target: str, read_only: bool, recursive: bool = True) -> None:
    flags = sc.MS_BIND | (sc.MS_REC if recursive else 0)
    sc.mount(source, target, None, flags)
    if read_only:
        sc.mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | flags)


def _mount_overlay(spec: RuntimeSpec) -> None:
    data = f"lowerdir={':'.join(spec.lower_dirs)},upperdir={spec.upper_dir},workdir={spec.work_dir}"
    sc.mount("overlay", spec.rootfs_dir, "overlay", 0, data)


def _mount_dev(rootfs: str, spec: RuntimeSpec | None = None) -> None:
    dev = _inside(rootfs, "/dev")
    os.makedirs(dev, exist_ok=True)
    sc.mount("tmpfs", dev, "tmpfs", sc.MS_NOSUID | sc.MS_STRICTATIME, "mode=755,size=65536k")
    for name, major, minor in DEVICES:
        node = os.path.join(dev, name)
        os.mknod(node, 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(node, 0o666)
    for name, target in DEV_LINKS:
        os.symlink(target, os.path.join(dev, name))
    pts = os.path.join(dev, "pts")
    os.makedirs(pts)
    sc.mount(
        "devpts", pts, "devpts", sc.MS_NOSUID | sc.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"
    )
    shm = os.path.join(dev, "shm")
    os.makedirs(shm)
    shm_size = spec.shm_size if spec is not None and spec.shm_size else 64 * 1024 * 1024
    sc.mount(
        "shm", shm, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, f"mode=1777,size={shm_size}"
    )
    mqueue = os.path.join(dev, "mqueue")
    os.makedirs(mqueue)
    sc.mount("mqueue", mqueue, "mqueue", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    if spec is not None and spec.privileged:
        _make_host_devices(dev)
    for device in spec.devices if spec is not None else ():
        _make_device(rootfs, device)


def host_devices(root: str = "/dev") -> list[tuple[str, os.stat_result]]:
    """The host's device nodes as containerd's HostDevices finds them: (path relative to
    `root`, its lstat), character and block devices only (links, FIFOs and files are left
    out), walking subdirectories but not HOST_DEV_SKIPPED_DIRS, without /dev/console."""
    found: list[tuple[str, os.stat_result]] = []
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(root, relative)) as listing:
                entries = list(listing)
        except OSError:  # gone meanwhile, or unreadable: as containerd, nothing from it
            continue
        for entry in entries:
            path = os.path.join(relative, entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in HOST_DEV_SKIPPED_DIRS:
                        pending.append(path)
                    continue
                if entry.name == "console":
                    continue
                info = os.lstat(entry.path)
            except OSError:
                continue
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                found.append((path, info))
    return sorted(found)


def _make_host_devices(dev: str) -> None:
    """Docker's `privileged`: the host's device nodes in the container's /dev (same type,
    numbers, mode and owner, as runc makes them). A path the container has already (its
    default nodes, the ptmx link) keeps what it has, as runc's EEXIST does."""
    for relative, info in host_devices():
        node = os.path.join(dev, relative)
        if os.path.lexists(node):
            continue
        os.makedirs(os.path.dirname(node), mode=0o755, exist_ok=True)
        mode = stat.S_IMODE(info.st_mode)
        os.mknod(node, mode | stat.S_IFMT(info.st_mode), info.st_rdev)
        os.chmod(node, mode)  # past the umask
        os.chown(node, info.st_uid, info.st_gid)


def _make_device(rootfs: str, device: DeviceNode) -> None:
    """A requested host device: same type and numbers, at the requested path."""
    node = _inside(rootfs, device.path)
    os.makedirs(os.path.dirname(node), exist_ok=True)
    if os.path.lexists(node):
        os.unlink(node)
    kind = stat.S_IFCHR if device.kind == "c" else stat.S_IFBLK
    os.mknod(node, device.file_mode | kind, os.makedev(device.major, device.minor))
    os.chmod(node, device.file_mode)


def _apply_sysctls(rootfs: str, spec: RuntimeSpec) -> None:
    """Namespaced sysctls (validated by the engine API) through the container's own /proc, before
    /proc/sys turns read-only; `domainname` is the UTS namespace's kernel.domainname."""
    values = dict(spec.sysctls)
    if spec.domainname:
        values["kernel.domainname"] = spec.domainname
    for key, value in values.items():
        path = _inside(rootfs, "/proc/sys/" + key.replace(".", "/"))
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(value))
        except OSError as exc:
            label = "sysctls: " + key if key in spec.sysctls else "domainname"
            raise OSError(f"{label}={value}: {_sysctl_problem(exc, value)}") from None


def _sysctl_problem(exc: OSError, value: str) -> str:
    """Why the kernel refused a sysctl write, in words (one line, for the start's error)."""
    if exc.errno == errno.ENOENT:
        return ("no such sysctl in the container's namespaces (unknown to this kernel, or "
                "not one a namespace of the container's own has)")
    if exc.errno in (errno.EINVAL, errno.ERANGE):
        return f"the kernel refused the value {value!r} ({exc.strerror})"
    if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        return f"not settable from a container ({exc.strerror})"
    return str(exc.strerror)


def _mount_proc_sys(rootfs: str, privileged: bool = False, spec: RuntimeSpec | None = None) -> None:
    proc = _inside(rootfs, "/proc")
    os.makedirs(proc, exist_ok=True)
    sc.mount("proc", proc, "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    sys_dir = _inside(rootfs, "/sys")
    os.makedirs(sys_dir, exist_ok=True)
    flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | (0 if privileged else sc.MS_RDONLY)
    sc.mount("sysfs", sys_dir, "sysfs", flags)
    _mount_cgroups(rootfs, read_only=not privileged, own=_own_cgroup(spec))


def _own_cgroup(spec: RuntimeSpec | None) -> str | None:
    """With `cgroup: host`, the container's cgroup below each hierarchy's root ("a/b/<id>"):
    a cgroup mount there would show the host's whole tree, so that dir is bound instead, as
    runc does outside a cgroup namespace. None in a cgroup namespace of its own."""
    if spec is None or spec.cgroupns_mode != "host":
        return None
    from engine.cgroups import container_cgroup

    cgroup = container_cgroup(spec.container_id, spec.cgroup_parent)
    return f"{cgroup.parent}/{cgroup.name}"


def _mount_cgroups(rootfs: str, read_only: bool, own: str | None = None) -> None:
    """/sys/fs/cgroup as Docker shows it: the container's own cgroup (the cgroup namespace makes
    it the root; `own` is bound where the container shares the host's), read-only. v2: one
    cgroup2 mount; v1: a tmpfs with one mount per controller the host mounts at
    /sys/fs/cgroup."""
    target = _inside(rootfs, "/sys/fs/cgroup")
    if not os.path.isdir(target):
        return
    base = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    ro = sc.MS_RDONLY if read_only else 0
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        if own is not None:
            _bind(f"/sys/fs/cgroup/{own}", target, read_only)
        else:
            sc.mount("cgroup2", target, "cgroup2", base | ro)
        return
    sc.mount("tmpfs", target, "tmpfs", base, "mode=755")
    for controller in V1_CGROUP_MOUNTS:
        if not os.path.isdir(f"/sys/fs/cgroup/{controller}"):
            continue
        path = os.path.join(target, controller)
        os.makedirs(path, exist_ok=True)
        try:
            if own is not None:
                _bind(f"/sys/fs/cgroup/{controller}/{own}", path, read_only)
            else:
                sc.mount("cgroup", path, "cgroup", base | ro, controller)
        except OSError:
            os.rmdir(path)  # a controller the kernel will not mount here: leave it out
    if read_only:
        sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | base | sc.MS_RDONLY)


def _mask_paths(rootfs: str) -> None:
    null = _inside(rootfs, "/dev/null")
    for path in MASKED_PATHS:
        target = _inside(rootfs, path)
        if os.path.isdir(target):
            sc.mount("tmpfs", target, "tmpfs", sc.MS_RDONLY)
        elif os.path.exists(target):
            sc.mount(null, target, None, sc.MS_BIND)
    for path in READONLY_PATHS:
        target = _inside(rootfs, path)
        if os.path.exists(target):
            _bind(target, target, read_only=True)


def _populate_volume(volume_dir: str, target: str) -> None:
    """Docker's copy-up: an empty volume mounted over image content starts with a copy of it
    (owners, modes and links kept). `target` is seen through the overlay, so every layer
    counts; the host's cp still works here because pivot_root has not happened yet."""
    if not os.path.isdir(target) or os.path.islink(target) or os.listdir(volume_dir):
        return
    if not os.listdir(target):
        return
    subprocess.run(["cp", "-a", f"{target}/.", volume_dir], check=True, capture_output=True)


def _mount_volumes(spec: RuntimeSpec) -> None:
    root_slave = _root_flags(spec) & sc.MS_SLAVE
    for mount in spec.mounts:
        target = _inside(spec.rootfs_dir, mount.target)
        if mount.populate:
            _populate_volume(mount.source, target)
        _ensure_mountpoint(target, os.path.isdir(mount.source))
        _bind(mount.source, target, mount.read_only)
        if mount.propagation is not None or root_slave:
            # A bind of a slave tree starts as a slave: set what was asked (default rprivate).
            sc.mount(None, target, None, propagation.bind_flags(mount.propagation))
    for tmpfs in spec.tmpfs:
        target = _inside(spec.rootfs_dir, tmpfs.target)
        os.makedirs(target, exist_ok=True)
        try:
            sc.mount("tmpfs", target, "tmpfs", tmpfs.flags, tmpfs.options)
        except OSError as exc:  # the values were checked: what is left is the kernel's say
            raise OSError(f"tmpfs {tmpfs.target}: the kernel refused the options "
                          f"{tmpfs.options!r}: {exc.strerror}") from None


def _mount_etc_files(spec: RuntimeSpec) -> None:
    for source, target in (
        (spec.hosts_file, "/etc/hosts"),
        (spec.hostname_file, "/etc/hostname"),
        (spec.resolv_file, "/etc/resolv.conf"),
    ):
        directory, name = os.path.split(target)
        path = os.path.join(_inside(spec.rootfs_dir, directory), name)
        if os.path.islink(path):  # the image's own link is replaced by the file
            os.unlink(path)
        _ensure_mountpoint(path, is_dir=False)
        _bind(source, path, read_only=False, recursive=False)


def _mount_docker_init(spec: RuntimeSpec) -> None:
    """`init: true` with the host's tini: read-only at /sbin/docker-init, as Docker does; the
    mount point is made in the writable layer (before a read_only rootfs turns read-only)."""
    if not (spec.init and spec.init_binary):
        return
    target = resolve_in_root(spec.rootfs_dir, CONTAINER_PATH)
    _ensure_mountpoint(target, is_dir=False)
    _bind(spec.init_binary, target, read_only=True, recursive=False)


def _make_working_dir(spec: RuntimeSpec) -> None:
    """Docker (and runc) create a missing working directory, root's, 0755: `working_dir:
    /app` works on an image without /app. After the mounts, so one inside a volume is made
    there; before a read_only rootfs turns read-only. Where it cannot be made, the chdir
    before exec reports it."""
    cwd = spec.process.cwd
    if not cwd or cwd == "/":
        return
    with contextlib.suppress(OSError):
        os.makedirs(resolve_in_root(spec.rootfs_dir, cwd), mode=0o755, exist_ok=True)


def _root_flags(spec: RuntimeSpec) -> int:
    """rprivate, or rslave when a bind must keep receiving host mounts (bind.propagation)."""
    return propagation.root_flags([m.propagation for m in spec.mounts])


def _pivot(rootfs: str) -> None:
    os.chdir(rootfs)
    # runc's trick: pivot onto "." and detach the old root stacked beneath it; no temp dir needed.
    sc.pivot_root(".", ".")
    sc.umount(".", sc.MNT_DETACH)
    os.chdir("/")


def prepare_rootfs(spec: RuntimeSpec) -> None:
    """Mount everything the container sees and make it the process's root."""
    sc.mount(None, "/", None, _root_flags(spec))
    _mount_overlay(spec)
    rootfs = spec.rootfs_dir
    _mount_proc_sys(rootfs, spec.privileged, spec)
    _mount_dev(rootfs, spec)
    _mount_volumes(spec)
    _mount_etc_files(spec)
    _mount_docker_init(spec)
    _make_working_dir(spec)
    _apply_sysctls(rootfs, spec)
    if not spec.privileged:
        _mask_paths(rootfs)
    if spec.read_only:
        sc.mount(None, rootfs, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)
    _pivot(rootfs)
