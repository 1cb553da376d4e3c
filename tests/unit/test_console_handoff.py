"""A `run -it` container's start handed over from the start-up helper to its supervisor: the
attached client's console socket goes with the pty's master, so the supervisor knows to leave
the terminal to that client until it detaches (engine.supervisor.pump_logs)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from engine import runtime
from engine.supervisor_launch import Handoff, _handoff, _handoff_message


def _fds(count: int) -> list[int]:
    return [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]


def test_the_console_client_travels_with_the_master() -> None:
    master, client = _fds(2)
    started = runtime.StartedProcess(10, 10, master, -1, False, console_client=client)
    payload, fds = _handoff_message(Handoff(started, ["net"], {"net": "10.0.0.2"}))
    assert fds == [master, client]
    back = _handoff(payload, fds).started
    assert (back.stdout_fd, back.stderr_fd, back.console_client) == (master, -1, client)
    for fd in fds:
        os.close(fd)


def test_without_a_client_nothing_changes() -> None:
    out, err = _fds(2)
    started = runtime.StartedProcess(10, 10, out, err, False)
    payload, fds = _handoff_message(Handoff(started, [], {}))
    back = _handoff(payload, fds).started
    assert (back.stdout_fd, back.stderr_fd, back.console_client) == (out, err, -1)
    for fd in fds:
        os.close(fd)


def test_the_pump_leaves_the_terminal_to_the_client_until_it_lets_go(tmp_path: Path) -> None:
    """While the attached client holds the terminal, its output is the client's to read (the
    client sends it on for the log); once the client's socket closes (it detached, or died),
    the supervisor reads and logs it."""
    from engine.supervisor import pump_logs
    from engine.supervisor_launch import LogTarget

    read_end, write_end = os.pipe()
    ours, clients = socket.socketpair()
    child = os.fork()
    if child == 0:  # pragma: no cover - the container's stand-in
        os._exit(5)
    started = runtime.StartedProcess(
        child, child, read_end, -1, False, console_client=ours.detach()
    )
    log = tmp_path / "c-json.log"
    result: list[int] = []
    pump = threading.Thread(target=lambda: result.append(pump_logs(
        started, LogTarget(str(log), None, 1, None))))
    pump.start()
    os.write(write_end, b"while attached\n")
    clients.sendall(b"relayed\n")  # what the client read from the terminal: logged
    time.sleep(0.3)
    assert b"while attached" not in (log.read_bytes() if log.exists() else b"")
    clients.close()  # the client detaches
    os.write(write_end, b"after\n")
    os.close(write_end)
    pump.join(timeout=10)
    assert result == [5]
    text = log.read_text()
    assert text.index("relayed") < text.index("while attached") < text.index("after"), text


def test_a_stuck_client_does_not_hold_up_the_containers_end(tmp_path: Path) -> None:
    """The container's process exited while its client holds the terminal and says nothing
    more (stopped, or blocked): after a short grace the pump reads the terminal itself, and
    the exit is recorded without waiting for that client."""
    from engine.console_client import CLIENT_GRACE
    from engine.supervisor import pump_logs
    from engine.supervisor_launch import LogTarget

    read_end, write_end = os.pipe()
    ours, clients = socket.socketpair()
    child = os.fork()
    if child == 0:  # pragma: no cover - the container's stand-in
        os._exit(7)
    os.write(write_end, b"last words\n")
    os.close(write_end)
    clients.sendall(b"relayed\n")
    started = runtime.StartedProcess(
        child, child, read_end, -1, False, console_client=ours.detach()
    )
    began = time.monotonic()
    try:
        code = pump_logs(started, LogTarget(str(tmp_path / "c-json.log"), None, 1, None))
    finally:
        clients.close()
    assert code == 7
    assert time.monotonic() - began < CLIENT_GRACE + 3
    text = (tmp_path / "c-json.log").read_text()
    assert "relayed" in text and "last words" in text, text
