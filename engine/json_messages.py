"""JSON messages with descriptors beside them, over a SOCK_SEQPACKET socket: how a supervisor
and the processes that start its container (engine.supervisor_launch's helper, the start
server of engine.start_server) talk. One message per packet, so no framing is needed."""

from __future__ import annotations

import contextlib
import json
import os
import socket

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

MAX_MESSAGE = 65536
MAX_FDS = 253  # SCM_RIGHTS' limit: stdout, stderr and one bound socket per published port


def close_fds(fds: list[int]) -> None:
    """Close descriptors that came with a message and were not taken (-1: none there)."""
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def send_message(
    sock: socket.socket, payload: dict[str, Any], fds: list[int] | None = None
) -> None:
    socket.send_fds(sock, [json.dumps(payload).encode()[:MAX_MESSAGE]], fds or [])


def receive_message(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message and its descriptors; None when the peer has gone (end of stream, a
    reset connection, or silence past the socket's timeout)."""
    try:
        data, fds, _flags, _address = socket.recv_fds(sock, MAX_MESSAGE, MAX_FDS)
    except OSError:
        return None, []
    if not data:
        return None, fds
    return json.loads(data), fds
