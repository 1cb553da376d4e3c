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
import threading

_LIBC = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the call keeps the GIL


def fork() -> int:
    """0 in the child, the child's pid in the parent; OSError when the system cannot fork."""
    if threading.active_count() != 1:
        return os.fork()  # other threads may hold locks: let the interpreter re-initialise
    pid = int(_LIBC.fork())
    if pid < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return pid
