"""SIGTERM stops a command the way Ctrl-C does (docker compose cancels its context on both):
a CI job cancelled or a `timeout` then unwinds through the same `finally` blocks as Ctrl-C —
a build removes its RUN step's container, a pull its partial blob — and the command exits 130,
instead of dying at once with -15 and leaving them behind."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt in the main thread; the previous
    handler comes back after."""
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
