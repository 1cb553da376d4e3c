"""The one place that calls the kernel through ctypes.

Python 3.11's `os` has no unshare/setns/mount/pivot_root; everything kernel-facing that `os`
lacks lives here so the rest of the engine stays testable and readable.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
from collections.abc import Iterator
from types import ModuleType

from engine.mount_flags import (  # noqa: F401  re-exported: sc.MS_RDONLY and the rest
    MNT_DETACH,
    MS_BIND,
    MS_DIRSYNC,
    MS_MANDLOCK,
    MS_MOVE,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    MS_SLAVE,
    MS_STRICTATIME,
    MS_SYNCHRONOUS,
)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "armv7l": 185, "ppc64le": 184, "s390x": 185}
TIOCSCTTY = 0x540E

_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "armv7l": 218, "ppc64le": 203, "s390x": 217}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(value: str | None) -> bytes | None:
    return value.encode() if value is not None else None


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    result = _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data))
    _check(result, f"mount {fstype or source} on {target}")


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


# open_tree(2) (Linux 5.2): one number on every architecture, as every syscall since 5.1.
_SYS_OPEN_TREE = 428
OPEN_TREE_CLONE = 1  # a detached copy of the mount (its submounts only with AT_RECURSIVE)
_AT_FDCWD = -100


def open_tree(path: str, flags: int) -> int:
    """A descriptor of a detached copy of the mount at `path`."""
    fd = _libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, _b(path), flags)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"open_tree {path}: {os.strerror(err)}")
    return int(fd)


def pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"pivot_root: unsupported architecture {os.uname().machine}")
    _check(_libc.syscall(number, _b(new_root), _b(put_old)), "pivot_root")


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    result = _libc.prctl(option, arg2, arg3, 0, 0)
    if result < 0:
        _check(result, f"prctl({option})")
    return int(result)


PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load_seccomp_program(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (struct sock_filter[] bytes, as libseccomp's
    seccomp_export_bpf writes them) on the calling thread, as seccomp_load does without
    flags: prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    result = _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0)
    if result < 0:
        _check(result, "prctl(PR_SET_SECCOMP)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set this thread's capability sets (64-bit masks) with the v3 ABI."""
    number = _SYS_CAPSET.get(os.uname().machine)
    if number is None:
        raise OSError(f"capset: unsupported architecture {os.uname().machine}")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for index in (0, 1):
        shift = 32 * index
        data[index].effective = (effective >> shift) & 0xFFFFFFFF
        data[index].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[index].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.syscall(number, ctypes.byref(header), ctypes.byref(data)), "capset")


_SYS_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351}
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9


def bpf(command: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    """bpf(2) with a caller-packed `union bpf_attr`; returns the result (an fd for loads)."""
    number = _SYS_BPF.get(os.uname().machine)
    if number is None:
        raise OSError(f"bpf: unsupported architecture {os.uname().machine}")
    result = _libc.syscall(number, command, attr, ctypes.c_uint(len(attr)))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf({command}): {os.strerror(err)}")
    return int(result)


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ_FLAGS = "16sH22x"  # struct ifreq: name, then the union (ifr_flags first), 40 bytes


def loopback_up() -> None:
    """Set `lo` up in this process's network namespace with one ioctl, as runc does: no netlink
    library and no helper process for a fresh namespace that only needs its loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(_IFREQ_FLAGS, b"lo", 0)
        _name, flags = struct.unpack_from("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))
        if not flags & IFF_UP:
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(_IFREQ_FLAGS, b"lo", flags | IFF_UP))


# Libraries that bindings look up with ctypes.util.find_library, which runs `ldconfig -p` (and
# sometimes gcc) in subprocesses on every call: ~5 ms and a fork+exec each time.
_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


@contextlib.contextmanager
def sonames_without_ldconfig() -> Iterator[None]:
    """While active, find_library answers the known libraries with their soname when the
    dynamic loader can open it, and asks ldconfig only otherwise. For single-threaded callers
    that import a binding (pyseccomp, pyroute2.netns) which resolves its library at import.

    When `ctypes.util` is not loaded yet, a stand-in takes its name meanwhile and the real
    module loads only if an unknown library is asked for: it imports shutil, subprocess and
    tempfile (with bz2, lzma and random), ~6 ms of the fork server's start-up before it could
    take the first container. A binding that imported the stand-in finds the real module under
    the name afterwards."""
    import sys

    real = sys.modules.get("ctypes.util")
    stand_in = None
    if real is None:
        stand_in = ModuleType("ctypes.util")
        sys.modules["ctypes.util"] = stand_in
        ctypes.util = stand_in  # type: ignore[attr-defined]
    original = getattr(real, "find_library", None)

    def find_library(name: str) -> str | None:
        soname = _SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
            except OSError:
                pass
            else:
                return soname
        return (original or _real_ctypes_util(stand_in).find_library)(name)

    if stand_in is not None:
        stand_in.find_library = find_library  # type: ignore[attr-defined]
    else:
        real.find_library = find_library  # type: ignore[union-attr]
    try:
        yield
    finally:
        if stand_in is None:
            real.find_library = original  # type: ignore[union-attr]
        elif sys.modules.get("ctypes.util") is stand_in:
            del sys.modules["ctypes.util"]
            del ctypes.util  # type: ignore[attr-defined]


def _real_ctypes_util(stand_in: object) -> ModuleType:
    """The real `ctypes.util`, loaded now in place of the stand-in."""
    import importlib
    import sys

    if sys.modules.get("ctypes.util") is stand_in:
        del sys.modules["ctypes.util"]
    return importlib.import_module("ctypes.util")
