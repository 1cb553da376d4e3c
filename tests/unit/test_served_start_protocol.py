"""The supervisor's side of a first start through the start server (engine.served_start), and the
server's answer to a supervisor whose records are missing, against in-process peers: which
outcomes fall back to the helper, fail the start, or count as a server that died half-way (the
supervisor then undoes everything)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.json_messages import receive_message, send_message
from engine.served_start import first_start_served
from engine.start_server import serve_supervisor
from engine.supervisor_launch import FirstStart, HelperDied


def _serving(answer: Callable[[socket.socket], None]) -> tuple[int, threading.Thread]:
    """A fake start server's listening socket (our end, as a supervisor inherits it) and the
    thread that takes one connection and runs `answer` on it."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def take() -> None:
        with theirs:
            _data, fds, _flags, _address = socket.recv_fds(theirs, 16, 1)
            with socket.socket(fileno=fds[0]) as conn:
                request, _ = receive_message(conn)
                assert request == {"root": "/r", "id": "c1", "pid": os.getpid()}
                answer(conn)

    thread = threading.Thread(target=take)
    thread.start()
    return ours.detach(), thread


def test_a_server_that_declines_sends_the_start_back_to_the_helper() -> None:
    fd, thread = _serving(lambda conn: send_message(conn, {"fallback": True}))
    assert first_start_served(fd, "/r", "c1") is None
    thread.join()


def test_a_server_that_failed_the_start_fails_it_with_its_message() -> None:
    fd, thread = _serving(lambda conn: send_message(conn, {"error": "invalid resource limit"}))
    assert first_start_served(fd, "/r", "c1") == FirstStart(
        None, "invalid resource limit", None, False
    )
    thread.join()


def test_a_server_gone_after_the_request_counts_as_died_half_way() -> None:
    fd, thread = _serving(lambda conn: None)  # closes without an answer
    with pytest.raises(HelperDied):
        first_start_served(fd, "/r", "c1")
    thread.join()


def test_no_server_listening_means_starting_as_before() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.close()
    assert first_start_served(ours.detach(), "/r", "c1") is None


def test_the_server_answers_a_supervisor_without_records_with_an_error(tmp_path: Path) -> None:
    supervisor_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    send_message(supervisor_end, {"root": str(tmp_path), "id": "missing", "pid": 1})
    server = threading.Thread(target=serve_supervisor, args=(server_end,))  # its own thread,
    server.start()  # as in the server: it marks the thread for netns switches
    server.join()
    reply, fds = receive_message(supervisor_end)
    assert fds == [] and reply is not None and "runtime.json" in reply["error"]
    supervisor_end.close()
