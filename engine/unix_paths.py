"""Unix socket addresses for files deep in the data root: sun_path holds 108 bytes, and a
record's directory (`<root>/containers/<64 hex>/`) under a long root does not fit."""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def short_address(path: str) -> Iterator[str]:
    """`path` as an address to bind or connect to while the block runs: through a descriptor
    of its directory (/proc/self/fd/N/name), so it fits whatever the directory's depth and
    keeps the directory's permissions (unlike an abstract name anyone may take)."""
    directory, name = os.path.split(path)
    fd = os.open(directory or ".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{name}"
    finally:
        os.close(fd)
