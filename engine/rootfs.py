"""Build the container's filesystem view inside its own mount namespace, then pivot_root.

Runs in the container's init process after unshare(CLONE_NEWNS): every mount made here lives
and dies with that namespace, so nothing can leak into the host's mount table.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine import syscalls as sc
from engine.runtime_spec import RuntimeSpec

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
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def _inside(rootfs: str, target: str) -> str:
    return os.path.join(rootfs, target.lstrip("/"))


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


def _mount_dev(rootfs: str) -> None:
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
    sc.mount(
        "shm", shm, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, "mode=1777,size=65536k"
    )
    mqueue = os.path.join(dev, "mqueue")
    os.makedirs(mqueue)
    sc.mount("mqueue", mqueue, "mqueue", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)


def _mount_proc_sys(rootfs: str) -> None:
    proc = _inside(rootfs, "/proc")
    os.makedirs(proc, exist_ok=True)
    sc.mount("proc", proc, "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    sys_dir = _inside(rootfs, "/sys")
    os.makedirs(sys_dir, exist_ok=True)
    flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_RDONLY
    sc.mount("sysfs", sys_dir, "sysfs", flags)


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


def _mount_volumes(spec: RuntimeSpec) -> None:
    for mount in spec.mounts:
        target = _inside(spec.rootfs_dir, mount.target)
        _ensure_mountpoint(target, os.path.isdir(mount.source))
        _bind(mount.source, target, mount.read_only)
    for tmpfs in spec.tmpfs:
        target = _inside(spec.rootfs_dir, tmpfs.target)
        os.makedirs(target, exist_ok=True)
        sc.mount("tmpfs", target, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, tmpfs.options)


def _mount_etc_files(spec: RuntimeSpec) -> None:
    for source, target in (
        (spec.hosts_file, "/etc/hosts"),
        (spec.hostname_file, "/etc/hostname"),
        (spec.resolv_file, "/etc/resolv.conf"),
    ):
        path = _inside(spec.rootfs_dir, target)
        if os.path.islink(path):
            os.unlink(path)
        _ensure_mountpoint(path, is_dir=False)
        _bind(source, path, read_only=False, recursive=False)


def _pivot(rootfs: str) -> None:
    os.chdir(rootfs)
    # runc's trick: pivot onto "." and detach the old root stacked beneath it; no temp dir needed.
    sc.pivot_root(".", ".")
    sc.umount(".", sc.MNT_DETACH)
    os.chdir("/")


def prepare_rootfs(spec: RuntimeSpec) -> None:
    """Mount everything the container sees and make it the process's root."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    _mount_overlay(spec)
    rootfs = spec.rootfs_dir
    _mount_proc_sys(rootfs)
    _mount_dev(rootfs)
    _mount_volumes(spec)
    _mount_etc_files(spec)
    _mask_paths(rootfs)
    if spec.read_only:
        sc.mount(None, rootfs, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)
    _pivot(rootfs)
