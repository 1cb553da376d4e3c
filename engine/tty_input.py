"""What `attach` types into a tty container: the pty's master belongs to the supervisor (its
log pump reads the output from it), so the input comes through a FIFO beside the record that
the pump copies into the master (docker's attach to a Tty+OpenStdin container).

The FIFO is held open read-write here, so clients may come and go without an EOF (no
StdinOnce), and a client gets ENXIO once the container's run is over. Writes into the master
never block the pump: what the pty does not take yet waits, and the FIFO is not read meanwhile
(its writer then waits, as a terminal's would)."""

from __future__ import annotations

import contextlib
import os
import selectors

_READ_SIZE = 4096


class TtyInput:
    def __init__(self, fifo: int, writer: int, selector: selectors.BaseSelector) -> None:
        self.fifo = fifo
        self.writer = writer  # a non-blocking duplicate of the master, for writing only
        self.selector = selector
        self.pending = b""
        selector.register(fifo, selectors.EVENT_READ)

    @classmethod
    def open(cls, path: str, master: int, selector: selectors.BaseSelector) -> TtyInput | None:
        """None when the FIFO cannot be made (the record's directory is gone): no input."""
        try:
            with contextlib.suppress(FileExistsError):
                os.mkfifo(path, 0o600)
            fifo = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        writer = os.dup(master)
        os.set_blocking(writer, False)
        return cls(fifo, writer, selector)

    def owns(self, fd: int) -> bool:
        return fd in (self.fifo, self.writer)

    def ready(self, fd: int) -> None:
        """The FIFO has input, or the master takes more of what waits."""
        if fd == self.fifo:
            try:
                self.pending = os.read(self.fifo, _READ_SIZE)
            except BlockingIOError:
                return
        self._drain()

    def _drain(self) -> None:
        try:
            while self.pending:
                self.pending = self.pending[os.write(self.writer, self.pending) :]
        except BlockingIOError:
            pass
        except OSError:  # EIO: the terminal's process side is gone; the pump ends soon
            self.pending = b""
        self._watch_for(self.writer if self.pending else self.fifo)

    def _watch_for(self, fd: int) -> None:
        other = self.fifo if fd == self.writer else self.writer
        with contextlib.suppress(KeyError):
            self.selector.unregister(other)
        event = selectors.EVENT_WRITE if fd == self.writer else selectors.EVENT_READ
        with contextlib.suppress(KeyError):
            self.selector.register(fd, event)

    def close(self) -> None:
        for fd in (self.fifo, self.writer):
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
