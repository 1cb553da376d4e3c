"""A tty container's input FIFO copied into its pty's master by the supervisor's log pump."""

from __future__ import annotations

import os
import selectors
import termios
import tty
from pathlib import Path

from engine.tty_input import TtyInput


def _pump_once(selector: selectors.BaseSelector, tty_input: TtyInput) -> None:
    for key, _ in selector.select(0.05):
        if tty_input.owns(int(key.fd)):
            tty_input.ready(int(key.fd))


def test_what_is_written_into_the_fifo_reaches_the_terminal(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    selector = selectors.DefaultSelector()
    tty_input = TtyInput.open(str(tmp_path / "open-stdin"), master, selector)
    assert tty_input is not None
    try:
        client = os.open(tmp_path / "open-stdin", os.O_WRONLY | os.O_NONBLOCK)
        os.write(client, b"hello\x03")
        os.close(client)  # a client going away is no EOF: the next one is heard too
        _pump_once(selector, tty_input)
        assert os.read(slave, 100) == b"hello\x03"
        client = os.open(tmp_path / "open-stdin", os.O_WRONLY | os.O_NONBLOCK)
        os.write(client, b"again")
        _pump_once(selector, tty_input)
        assert os.read(slave, 100) == b"again"
        os.close(client)
    finally:
        tty_input.close()
        os.close(master)
        os.close(slave)


def test_a_terminal_that_takes_nothing_more_holds_the_input_back(tmp_path: Path) -> None:
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ICANON  # no line editing: the input queue fills up
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    selector = selectors.DefaultSelector()
    tty_input = TtyInput.open(str(tmp_path / "open-stdin"), master, selector)
    assert tty_input is not None
    client = os.open(tmp_path / "open-stdin", os.O_WRONLY | os.O_NONBLOCK)
    try:
        sent = 0
        for _ in range(200):  # far more than the pty queues
            try:
                sent += os.write(client, b"x" * 4096)
            except BlockingIOError:
                break
            _pump_once(selector, tty_input)
        assert tty_input.pending  # the rest waits, the pump is not stuck in a write
        received = b""
        while len(received) < sent:
            received += os.read(slave, 65536)
            _pump_once(selector, tty_input)
        assert received == b"x" * sent
    finally:
        os.close(client)
        tty_input.close()
        os.close(master)
        os.close(slave)
