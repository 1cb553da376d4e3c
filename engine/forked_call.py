"""Run a one-off step of a long-lived process in a throwaway child; hand its result back.

Why: supervisors are forked from a fork server (engine.supervisor_zygote) and share its memory
copy-on-write; what they share costs each of them only a fraction of its size. A step that runs
a lot of Python once — netlink through pyroute2, the firewall, the DNS resolver's control —
touches many of those pages (reference counts, new objects) and would leave the supervisor
with megabytes of private copies for the rest of the container's life. Run in a child, the
copies die with it and the supervisor stays small. Forking a small process costs ~1 ms.

The step's result travels back as JSON over a pipe; an exception in the child comes back as
`ForkedCallError` carrying the original message (which is all a caller reports anyway).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from engine.errors import EngineError, error_text
from engine.processes import read_to_eof, wait_exit_code

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


class ForkedCallError(EngineError):
    """The step failed in the child; the message is the child's exception text."""


def call_forked(step: Callable[[], Any]) -> Any:
    """`step()` in a child process: its JSON-serializable result, or ForkedCallError.

    When the system cannot fork (out of memory, pid limit), the step runs here instead: a
    bigger supervisor is better than a container that cannot start or be cleaned up."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return step()
    if pid == 0:  # pragma: no cover - the child's outcome is checked through the pipe
        status = 0
        try:
            os.close(read_fd)
            try:
                payload: dict[str, Any] = {"result": step()}
            except BaseException as exc:  # every failure goes back to the parent, as text
                payload = {"error": error_text(exc)}
            data = json.dumps(payload).encode()
            while data:
                data = data[os.write(write_fd, data):]
        except BaseException:
            status = 1
        os._exit(status)
    os.close(write_fd)
    try:
        raw = read_to_eof(read_fd)
    finally:
        os.close(read_fd)
    exit_code = wait_exit_code(pid)
    try:
        payload = json.loads(raw)
    except ValueError:
        raise ForkedCallError(f"helper process exited ({exit_code}) without a result") from None
    if "error" in payload:
        raise ForkedCallError(str(payload["error"]))
    return payload.get("result")
