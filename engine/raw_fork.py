"""fork(2) without Python's at-fork handlers, for single-threaded processes that fork children
meant to share as many pages with them as possible (supervisors, their start-up helpers).

Why: `os.fork` runs the interpreter's fork hooks on both sides: in the parent, the
before/after-fork handlers (the import lock, logging's lock); in the child, thread and lock
re-initialisation, threading's and logging's handlers, random's reseed. Together they write
to ~170 pages that parent and child would otherwise keep sharing copy-on-write: measured
0.84 -> 0.15 MB private in an idle child of the fork server, 2.0 -> 1.6 MB in a running
supervisor (bench/bench_supervisor_memory.py). None of that work is needed when the forking process
runs a single thread and holds no lock while it forks: the child's interpreter state is then
already consistent (the same thread, the same thread ident). The call holds the GIL (PyDLL),
so the child resumes exactly where the parent stands.

`fork()` falls back to `os.fork` when another thread runs, so it is always safe to call.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading

_LIBC = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the call keeps the GIL
CLONE_PARENT = 0x00008000
CLONE_INTO_CGROUP = 0x200000000  # clone3(2) only
# clone(2)'s number where its first argument is the flags word (the rest are zero here, so
# the architectures' different argument orders do not matter).
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine)
_SYS_CLONE3 = {"x86_64": 435, "aarch64": 435}.get(os.uname().machine)


class _CloneArgs(ctypes.Structure):
    """clone3(2)'s struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2, 88 bytes)."""

    _fields_ = [(name, ctypes.c_uint64) for name in (
        "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size",
        "tls", "set_tid", "set_tid_size", "cgroup",
    )]


def fork() -> int:
    """0 in the child, the child's pid in the parent; OSError when the system cannot fork."""
    if threading.active_count() != 1:
        return os.fork()  # other threads may hold locks: let the interpreter re-initialise
    pid = int(_LIBC.fork())
    if pid < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return pid


def can_fork_sibling() -> bool:
    return clone_known() and threading.active_count() == 1


def clone_known() -> bool:
    """Whether clone(2)'s number on this architecture is known (`fork_into`)."""
    return _SYS_CLONE is not None


def fork_into(flags: int) -> int:
    """Like `fork()`, with clone flags: new namespaces (e.g. CLONE_NEWPID: the child is pid 1
    of its own pid namespace), CLONE_PARENT (the child is our parent's child: a start-up
    helper makes the container's init a direct child of the supervisor, which then reaps it
    and is the parent its death signal watches, without a hand-over through a subreaper).

    The raw system call skips glibc's fork bookkeeping as well: safe for a single-threaded
    caller whose child only runs Python and exec()s (glibc ≥ 2.34 asks the kernel for the
    thread id where it needs it, and no lock is held). Check `can_fork_sibling()` first."""
    return _clone(flags)


def fork_into_cgroup(cgroup_fd: int, flags: int = 0) -> int:
    """`fork_into` (`flags`: CLONE_PARENT, new namespaces) with the child born
    in the cgroup v2 directory `cgroup_fd` (clone3's CLONE_INTO_CGROUP, Linux 5.7+): no move
    afterwards, so no wait for the RCU grace period a write to cgroup.procs costs. OSError
    where the kernel cannot (the caller forks and moves the child as before)."""
    if _SYS_CLONE3 is None or threading.active_count() != 1:
        raise OSError(95, "a raw clone3(2) is not available here")
    args = _CloneArgs(flags=flags | CLONE_INTO_CGROUP, exit_signal=signal.SIGCHLD,
                      cgroup=cgroup_fd)
    pid = int(_LIBC.syscall(_SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args)))
    if pid < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return pid


def _clone(flags: int) -> int:
    if _SYS_CLONE is None or threading.active_count() != 1:
        raise OSError(95, "a raw clone(2) is not available here")
    pid = int(_LIBC.syscall(_SYS_CLONE, flags | signal.SIGCHLD, 0, 0, 0, 0))
    if pid < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return pid
