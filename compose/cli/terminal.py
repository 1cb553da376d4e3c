"""The caller's terminal while a container's pty is relayed to it (`exec`, `run`)."""

from __future__ import annotations

import contextlib

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Keys go to the container's pty unprocessed (Ctrl-C included); restored afterwards.
    Switched at once (TCSANOW), not with setraw's default flush: what was typed ahead while
    the container started is its input, as with docker's CLI."""
    if not enabled:
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(0)
    tty.setraw(0, termios.TCSANOW)
    try:
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
