"""Docker's default seccomp policy, built with libseccomp through the `pyseccomp` binding.

Why a library: the filter is BPF that must be correct per architecture (syscall numbers,
x32/x86 sub-architectures, argument comparisons); libseccomp (Debian's libseccomp2, the same
library runc links) compiles it for us. `pyseccomp` is a thin ctypes binding, API-compatible
with libseccomp's own Python module (which is not packaged for this Python).

Shape: Docker's profile is an allow-list whose net effect, for the syscalls that exist, is
"everything except a list of dangerous ones, some of which a capability re-enables". We write
that net effect directly: default ALLOW, EPERM for the blocked list, ENOSYS for clone3 (libc
then falls back to clone, whose namespace flags we can inspect). The list mirrors
moby/profiles/seccomp/default.json.
"""

from __future__ import annotations

import contextlib
import errno
import os

from engine import syscalls as sc

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

# Always refused (no capability re-enables them in Docker's profile).
ALWAYS_BLOCKED: tuple[str, ...] = (
    "add_key",
    "keyctl",
    "request_key",
    "kexec_file_load",
    "kexec_load",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "nfsservctl",
    "uselib",
    "userfaultfd",
    "ustat",
    "sysfs",
    "_sysctl",
    "vm86",
    "vm86old",
    "lookup_dcookie",
    "open_by_handle_at",
)

# Refused unless the container holds the capability (Docker's "includes: caps" rules).
BLOCKED_UNLESS_CAP: dict[str, tuple[str, ...]] = {
    "SYS_ADMIN": (
        "mount",
        "umount",
        "umount2",
        "unshare",
        "setns",
        "pivot_root",
        "name_to_handle_at",
        "quotactl",
        "swapon",
        "swapoff",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "fanotify_init",
        "lookup_dcookie",
        "perf_event_open",
        "bpf",
    ),
    "SYS_MODULE": ("init_module", "finit_module", "delete_module"),
    "SYS_BOOT": ("reboot",),
    "SYS_TIME": ("settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex",
                 "clock_adjtime", "clock_adjtime64"),
    "SYS_PTRACE": ("kcmp", "process_vm_readv", "process_vm_writev"),
    "SYS_PACCT": ("acct",),
    "SYS_RAWIO": ("iopl", "ioperm"),
    "SYS_NICE": ("get_mempolicy", "mbind", "set_mempolicy", "move_pages"),
    "SYSLOG": ("syslog",),
    "SYS_TTY_CONFIG": ("vhangup",),
}

# clone(2) flags that create namespaces: refused without SYS_ADMIN (Docker's arg filter).
_CLONE_NAMESPACE_FLAGS = (
    sc.CLONE_NEWNS,
    sc.CLONE_NEWCGROUP,
    sc.CLONE_NEWUTS,
    sc.CLONE_NEWIPC,
    sc.CLONE_NEWUSER,
    sc.CLONE_NEWPID,
    sc.CLONE_NEWNET,
)


def blocked_syscalls(capabilities: tuple[str, ...]) -> tuple[str, ...]:
    """The names refused for a container with these capabilities (pure, for tests/docs)."""
    held = set(capabilities)
    names = list(ALWAYS_BLOCKED)
    for cap, calls in BLOCKED_UNLESS_CAP.items():
        if cap not in held:
            names.extend(calls)
    return tuple(dict.fromkeys(names))


def load_default_profile(capabilities: tuple[str, ...]) -> None:
    """Install the filter on the calling thread; it is inherited across fork and exec."""
    sc.load_seccomp_program(compiled_profile(capabilities))


# Capability set -> the filter's BPF. Filled in the supervisors' fork server for Docker's
# default set (engine.supervisor_zygote), so every container's init inherits the program.
_COMPILED: dict[frozenset[str], bytes] = {}
# Compiled programs kept between processes, beside the bytecode (same trust as the .pyc files):
# the fork server read Docker's default program from here instead of importing pyseccomp (with
# typing: ~7-12 ms) and compiling it (~1.7 ms) before it could take its first container.
CACHE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__", "seccomp")


def compiled_profile(capabilities: tuple[str, ...] | frozenset[str]) -> bytes:
    """The filter as the BPF program libseccomp would load (seccomp_export_bpf writes the
    same program seccomp_load installs), compiled once per capability set per process, or
    read from the program an earlier process compiled with the same libseccomp, kernel and
    profile (this module's source is part of the file's name)."""
    key = frozenset(capabilities)
    program = _COMPILED.get(key)
    if program is None:
        path = _cache_path(key)
        program = _read_program(path) if path else None
        if program is None:
            program = _compile(key)
            if path:
                _write_program(path, program)
        _COMPILED[key] = program
    return program


def _compile(capabilities: frozenset[str]) -> bytes:
    flt = _build(capabilities)
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        flt.export_bpf(_Descriptor(fd))
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)


def _cache_path(capabilities: frozenset[str]) -> str | None:
    """The cached program's file: named by everything the program depends on (the profile's
    code, the capabilities, libseccomp's version and the kernel API level it detects, the
    machine and kernel), or None when one of them cannot be told."""
    from engine import sha256_hex

    identity = _library_identity()
    try:
        with open(__file__, "rb") as source:
            code = source.read()
    except OSError:
        return None
    if identity is None:
        return None
    machine = os.uname()
    described = repr((sorted(capabilities), identity, machine.machine, machine.release))
    return os.path.join(CACHE_DIR, sha256_hex(code + described.encode()) + ".bpf")


def _library_identity() -> tuple[int, ...] | None:
    """libseccomp's (major, minor, micro, API level), through the library itself."""
    import ctypes

    try:
        library = ctypes.CDLL("libseccomp.so.2")
        version = library.seccomp_version
        version.restype = ctypes.POINTER(ctypes.c_uint * 3)
        numbers = version().contents
        api_level = library.seccomp_api_get
        api_level.restype = ctypes.c_uint
        return (*numbers, api_level())
    except (OSError, AttributeError, ValueError):
        return None


def _read_program(path: str) -> bytes | None:
    try:
        with open(path, "rb") as cached:
            program = cached.read()
    except OSError:
        return None
    return program if program and len(program) % 8 == 0 else None  # struct sock_filter[]


def _write_program(path: str, program: bytes) -> None:
    """Best effort and atomic: a read-only install compiles in every fork server, as before."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(CACHE_DIR, exist_ok=True)
        with open(temporary, "wb") as out:
            out.write(program)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


class _Descriptor:
    """What pyseccomp's export wants: an object with fileno()."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def _build(capabilities: frozenset[str]) -> Any:
    """Docker's default profile as a libseccomp filter (see the module docstring)."""
    with sc.sonames_without_ldconfig():  # no ldconfig subprocesses to find libseccomp
        import pyseccomp as seccomp

    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    # libseccomp sets no_new_privs on load by default; Docker leaves that to the
    # no-new-privileges option (we load while CAP_SYS_ADMIN is still effective).
    flt.set_attr(seccomp.Attr.CTL_NNP, 0)
    for arch in (seccomp.Arch.X86, seccomp.Arch.X32):
        if seccomp.system_arch() == seccomp.Arch.X86_64:
            with contextlib.suppress(OSError):
                flt.add_arch(arch)
    for name in blocked_syscalls(tuple(capabilities)):
        try:
            flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            continue  # not a syscall on this architecture
    if "SYS_ADMIN" not in capabilities:
        for flag in _CLONE_NAMESPACE_FLAGS:
            flt.add_rule(
                seccomp.ERRNO(errno.EPERM),
                "clone",
                seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag),
            )
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return flt
