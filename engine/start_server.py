"""The start server: the host-side half of the first start of every supervisor one fork server
forks (the cgroup, the network namespace and its wiring, the "running" record), done in one
long-lived process instead of a throwaway helper per container.

Why: a start-up helper (engine.supervisor_launch) is a fresh fork of its supervisor, and the
start's Python writes to ~1,400 pages that it shares with the fork server: each write is a page
fault and a 4 kB copy, paid again by every container, on top of the helper's own fork and exit
(together about a third of the helper's CPU, the biggest share of `up`'s). This process pays
those copies once: later starts find the pages already its own. The supervisor forks init
itself (engine.runtime's `start_prepared`), so init is its child from birth. Measured on
`up -d` of 50 services (bench/bench_ab.py): -20% wall time, -23% of the machine's CPU.

Forked from the fork server (engine.supervisor_zygote) on its second supervisor request (a
lone start does better with a helper than with this server's fork and first, cold start), it
shares the engine's modules with the supervisors. Each supervisor is served on a thread of its
own: the kernel waits (netlink, cgroup, firewall) overlap, the Python in between is short. It
exits once the fork server and every supervisor have closed the other end of its listening
socket (each supervisor closes its copy as soon as it has connected).

Protocol: a supervisor makes a SOCK_SEQPACKET pair and sends one end on the listening socket
(b"C", the end attached); then, as engine.json_messages:
  supervisor -> {"root", "id", "pid"}
  server     -> {"fallback": true}  the start needs the supervisor itself (engine.supervisor_launch)
             |  {"error": message}  recorded as a failed start; nothing made is left
             |  what `_prepared` lists, with the network namespace and the host ports' sockets
  supervisor -> {"init": pid} once init has exec'd, or {"error": message}
  server     -> {"ok": true} (recorded running) | {"error": message} (undone and recorded)
A supervisor gone before its init runs (the connection closes) has what was made undone.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from engine import runtime
from engine import syscalls as sc
from engine.errors import error_text
from engine.json_messages import close_fds, receive_message, send_message
from engine.layout import Layout
from engine.supervisor import Supervisor
from engine.supervisor_launch import LogTarget, can_start_in_helper
from netdriver import netlink

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

# A supervisor silent this long is treated as gone (its start is undone): the fork server
# waits for this process at exit, so no start may keep it forever.
START_TIMEOUT_SECONDS = 120.0


def serve(listener: socket.socket) -> None:
    """Take supervisors' connections until the other end is closed everywhere; then let the
    starts under way finish."""
    workers: list[threading.Thread] = []
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(listener, 16, 1)
        except OSError:
            break
        if not data and not fds:
            break
        for fd in fds:
            worker = threading.Thread(target=serve_supervisor, args=(socket.socket(fileno=fd),))
            worker.start()
            workers.append(worker)
        workers = [worker for worker in workers if worker.is_alive()]
    for worker in workers:
        worker.join()


def serve_supervisor(conn: socket.socket) -> None:
    """One supervisor's first start, as the protocol above says."""
    netlink.switch_this_thread()  # this thread ends with the start: no thread per netns visit
    conn.settimeout(START_TIMEOUT_SECONDS)
    with conn:
        request, fds = receive_message(conn)
        close_fds(fds)
        if request is None:
            return
        try:
            supervisor = Supervisor(Layout(Path(str(request["root"]))), str(request["id"]))
        except Exception as exc:  # its records are unreadable: nothing to undo or record
            _reply(conn, {"error": error_text(exc)})
            return
        supervisor.pid = int(request["pid"])  # records name the supervisor, not this process
        spec = supervisor.spec
        # An attached client's stdin or terminal: runtime.start_prepared has neither.
        if not can_start_in_helper(spec) or spec.stdin_fifo or spec.console_socket:
            _reply(conn, {"fallback": True})
            return
        _start(conn, supervisor)


def _start(conn: socket.socket, supervisor: Supervisor) -> None:
    try:
        netns_fd = supervisor.prepare_start()
    except Exception as exc:  # undone by prepare_start itself
        _reply(conn, {"error": supervisor.start_failed(exc)})
        return
    try:
        payload, fds = _prepared(supervisor, netns_fd)
        send_message(conn, payload, fds)
        outcome, extra = receive_message(conn)
        close_fds(extra)
    except OSError:
        outcome = None
    finally:
        close_fds([netns_fd])
        supervisor.port_reservations.close()  # the supervisor holds the sockets now
    if outcome is None or "init" not in outcome:
        supervisor.undo_start()
        if outcome is not None:
            message = str(outcome.get("error") or "the container did not start")
            _reply(conn, {"error": supervisor.start_failed(RuntimeError(message))})
        return
    try:
        supervisor.record_running(int(outcome["init"]))
    except Exception as exc:  # the supervisor kills init on this answer
        supervisor.undo_start()
        _reply(conn, {"error": supervisor.start_failed(exc)})
        return
    _reply(conn, {"ok": True})


def _prepared(supervisor: Supervisor, netns_fd: int) -> tuple[dict[str, Any], list[int]]:
    """What the supervisor needs to fork init (engine.runtime.PreparedStart) and to run it."""
    spec = supervisor.spec
    reservations = supervisor.port_reservations
    payload = {
        "spec": str(supervisor.layout.container_dir(supervisor.container_id) / "runtime.json"),
        "netns": netns_fd >= 0,
        "cgroups": [str(path) for path in supervisor.cgroup.dirs()],
        "tty": spec.tty,
        "new_pid_ns": bool(runtime.namespace_flags(spec) & sc.CLONE_NEWPID),
        "attached": supervisor.attached,
        "addresses": supervisor.addresses,
        "ports": [vars(port) for port in reservations.published],
        "log": LogTarget.of(spec).to_json(),
        "healthcheck": spec.healthcheck is not None,
    }
    return payload, ([netns_fd] if netns_fd >= 0 else []) + reservations.descriptors()


def _reply(conn: socket.socket, payload: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a supervisor gone meanwhile: its init died with it
        send_message(conn, payload)
