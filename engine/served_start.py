"""A supervisor's first start through the start server (engine.start_server): the server makes
the cgroup and the wired network namespace, this process forks init into them, the server
records it running. See that module for why and for the protocol."""

from __future__ import annotations

import contextlib
import os
import signal
import socket

from engine import raw_fork, runtime
from engine.errors import error_text
from engine.json_messages import close_fds, receive_message, send_message
from engine.ports import PortReservations, published_from_json
from engine.processes import wait_exit_code
from engine.supervisor_launch import FirstStart, Handoff, HelperDied, LogTarget

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


def first_start_served(server_fd: int, root: str, container_id: str) -> FirstStart | None:
    """The first start through the server whose listening socket's other end is `server_fd`
    (closed here, used or not). None when the server cannot take it (start it as before);
    HelperDied when the server went away with the start half-made (undo all of it)."""
    if not raw_fork.clone_known():  # init is forked with a raw clone(2) (start_prepared)
        os.close(server_fd)
        return None
    connection = _connect(server_fd)
    if connection is None:
        return None
    with connection:
        try:
            send_message(connection, {"root": root, "id": container_id, "pid": os.getpid()})
        except OSError:  # gone before it had the request: nothing made, start as before
            return None
        reply, fds = _answer(connection)
        if reply.get("fallback"):
            return None
        if "error" in reply:
            return FirstStart(None, str(reply["error"]), None, False)
        return _launch(connection, reply, fds)


def _connect(server_fd: int) -> socket.socket | None:
    server = socket.socket(fileno=server_fd)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        socket.send_fds(server, [b"C"], [theirs.fileno()])
    except OSError:  # no server (it could not be forked, or it is gone): start as before
        ours.close()
        return None
    finally:
        theirs.close()
        server.close()  # the server exits once no one holds this end
    return ours


def _launch(connection: socket.socket, reply: dict[str, Any], fds: list[int]) -> FirstStart:
    netns_fd = fds.pop(0) if reply["netns"] else -1
    reservations = PortReservations()
    reservations.adopt([published_from_json(port) for port in reply["ports"]], fds)
    prepared = runtime.PreparedStart(
        str(reply["spec"]), netns_fd, tuple(reply["cgroups"]),
        bool(reply["tty"]), bool(reply["new_pid_ns"]),
    )
    try:
        started = runtime.start_prepared(prepared)
    except Exception as exc:
        reservations.close()
        answer, extra = _exchange(connection, {"error": error_text(exc)})  # undone, recorded
        close_fds(extra)
        return FirstStart(None, str(answer["error"]), None, False)
    finally:
        close_fds([netns_fd])
    try:
        answer, extra = _exchange(connection, {"init": started.init_pid})
    except HelperDied:
        _stop(started)
        reservations.close()
        raise
    close_fds(extra)
    if "ok" not in answer:
        _stop(started)
        reservations.close()
        return FirstStart(None, str(answer["error"]), None, False)
    handoff = Handoff(
        started, list(reply["attached"]), dict(reply["addresses"]),
        reservations,
    )
    return FirstStart(handoff, None, LogTarget.from_json(reply["log"]),
                      bool(reply["healthcheck"]))


def _exchange(
    connection: socket.socket, payload: dict[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    """Send, then `_answer`."""
    try:
        send_message(connection, payload)
    except OSError as exc:
        raise HelperDied("the start server died") from exc
    return _answer(connection)


def _answer(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The server's next answer; HelperDied when it went away instead (the start half-made:
    the caller undoes all of it)."""
    answer, fds = receive_message(connection)
    if answer is None:
        close_fds(fds)
        raise HelperDied("the start server died")
    return answer, fds


def _stop(started: runtime.StartedProcess) -> None:
    """Init runs but the start failed after all: it goes, before we report."""
    close_fds([started.stdout_fd, started.stderr_fd])
    with contextlib.suppress(ProcessLookupError):
        os.kill(started.init_pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        wait_exit_code(started.init_pid)
