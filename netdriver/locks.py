"""Exclusive fcntl locks: per data root for state files, per host for kernel-wide choices
(subnets, iptables), because several data roots share one kernel."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def run_dir() -> Path:
    return Path(os.environ.get("PYCOMPOSE_RUN_DIR", "/run/pycompose"))


@contextlib.contextmanager
def flocked(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Held for the block; released when the block ends or the process dies. ``shared``:
    any number of shared holders at once, none while an exclusive one holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last fd of the description releases the lock
