"""Start a container from a throwaway child of its supervisor, so the supervisor stays small.

Why: supervisors are forked from a fork server (engine.supervisor_zygote) and share its pages
copy-on-write; a page costs a supervisor its full 4 kB only once the supervisor writes to it.
Running Python writes to every page it touches (reference counts, new objects), and the start
of a container runs a lot of it once: loading the records, the runtime, the cgroup writes, the
state store. Done in the supervisor, it left ~1.4 MB of private copies there for the
container's whole life (3.3 MB private before, 1.9 MB now; bench/bench_supervisor_memory.py).
Done in a helper child, the copies die with the helper. The price: one more fork and exit per
start (~1.5 ms of CPU).

How: the supervisor becomes a child subreaper and forks the helper, which runs the start and
the "running" record, sends back the container's output descriptors (SCM_RIGHTS) and what the
supervisor must undo at exit (the networks attached, their addresses, as JSON), and exits.
The helper is stage1 itself (engine.runtime's `_start_in_place`, with ADOPT_INIT off): it forks
init with CLONE_PARENT, so init is the supervisor's child from birth and arms its parent-death
signal against it once in its cgroup (where that clone is unavailable, a stage1 child forks
init and exits; init is re-parented to the nearest subreaper, the supervisor, before it arms
the signal).
Records made under a pid (the state's supervisor_pid, a network endpoint's owner) name the
supervisor (`Supervisor.pid`), never the short-lived helper.

The first start goes further (`first_start_in_helper`): the helper also loads the container's
records (the runtime spec, the store) and hands over only what the log pump needs, so the
supervisor builds its own `Supervisor` object only once the container has exited, or at once
when a healthcheck must run beside the pump. Restarts use `start_in_helper`. From the fork
server's second supervisor on, the first start goes through the start server instead
(engine.start_server, engine.served_start: one process for those starts, so the page copies
are paid once), and comes here only when that server cannot take it.

Not used, the start running in the supervisor as before, when something made by the start
must live in the supervisor itself: a resident stage1 (`pid: host`: its parent-death signal is
armed against its parent), an open stdin (`stdin_open`: the pipe's write end) and volumes with
driver_opts (their users are recorded by pid). Published ports do go through the helper: it
binds the sockets reserving the host ports and hands them over with the output descriptors
(`Handoff.reservations`), so the reservation still lives exactly as long as the supervisor.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from engine import raw_fork, runtime
from engine import syscalls as sc
from engine.errors import error_text
from engine.json_messages import close_fds, receive_message, send_message
from engine.ports import PortReservations, published_from_json
from engine.processes import wait_exit_code
from engine.runtime_spec import RuntimeSpec

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any, Protocol

if TYPE_CHECKING:
    Message = tuple[dict[str, Any], list[int]]  # a JSON payload and the descriptors beside it


@dataclass(frozen=True)
class Handoff:
    """What the helper started, as the supervisor must know it."""

    started: runtime.StartedProcess
    attached: list[str]
    addresses: dict[str, str]
    # The host ports' bound sockets (engine.ports): made by the helper, kept by the supervisor.
    reservations: PortReservations | None = None


@dataclass(frozen=True)
class LogTarget:
    """Where a run's output goes (the runtime spec's log settings), and for a tty container
    with an open stdin the FIFO whose bytes the log pump writes into its pty's master: the
    master is the supervisor's alone, so `attach` types into the container through it."""

    path: str
    max_size: int | None
    max_file: int
    tty_input: str | None = None

    @classmethod
    def of(cls, spec: RuntimeSpec) -> LogTarget:
        tty_input = spec.open_stdin_fifo if spec.tty else None
        return cls(spec.log_file, spec.log_max_size, spec.log_max_file, tty_input)

    def to_json(self) -> list[object]:
        return [self.path, self.max_size, self.max_file, self.tty_input]

    @classmethod
    def from_json(cls, fields: list[Any]) -> LogTarget:
        return cls(*fields)


@dataclass(frozen=True)
class FirstStart:
    """The outcome of the first start: `handoff` when the container runs, else `error`."""

    handoff: Handoff | None
    error: str | None
    log: LogTarget | None
    healthcheck: bool  # the supervisor must probe beside the pump: it needs its records now


class HelperFailed(Exception):
    """The start failed in the helper; the message is the helper's exception text."""


class HelperDied(HelperFailed):
    """The helper died without a word (killed, out of memory): what it made is unknown."""


if TYPE_CHECKING:  # a type only: the class would cost `typing` at run time

    class Launchable(Protocol):
        """What the helper runs of engine.supervisor.Supervisor."""

        pid: int
        spec: RuntimeSpec

        def start_recorded(self, **extra: object) -> Handoff: ...

        def start_failed(self, exc: Exception) -> str: ...


def can_start_in_helper(spec: RuntimeSpec) -> bool:
    """False when the start leaves something in the process that must outlive it (see the
    module docstring). An open stdin needs its pipe's keeper here; an attached client's
    stdin (a FIFO) or terminal (the console socket) does not."""
    keeps_stdin = spec.stdin_open and not spec.tty and not spec.stdin_fifo
    return not (spec.pid_mode == "host" or keeps_stdin or spec.volume_mounts)


def start_in_helper(step: Callable[[], Handoff]) -> Handoff:
    """Run `step` (start the container and record it running) in a helper child; hand its
    result over to this process. A failed step raises HelperFailed with its message; the step
    has then undone its own work (Supervisor.start does)."""
    try:
        payload, fds = _in_helper(lambda: _handoff_message(step()))
    except _NoFork:
        return step()  # cannot fork: a bigger supervisor beats a container that cannot start
    if "error" in payload:
        close_fds(fds)
        raise HelperFailed(payload["error"])
    return _handoff(payload, fds)


def first_start_in_helper(make: Callable[[], Launchable]) -> FirstStart | None:
    """The first start, `make()` included, in a helper child. None when it must run in this
    process instead (`can_start_in_helper` says no, or no fork). A failure is recorded by the
    helper (`start_failed`) and comes back as `error`; a helper that died raises HelperDied."""
    owner = os.getpid()

    def work() -> Message:
        supervisor = make()
        supervisor.pid = owner  # records name the supervisor, not this short-lived helper
        spec = supervisor.spec
        if not can_start_in_helper(spec):
            return {"fallback": True}, []
        try:
            handoff = supervisor.start_recorded(
                stop_requested=False, remove_requested=False, restart_count=0
            )
        except Exception as exc:
            return {"error": supervisor.start_failed(exc)}, []
        payload, fds = _handoff_message(handoff)
        payload["log"] = LogTarget.of(spec).to_json()
        payload["healthcheck"] = spec.healthcheck is not None
        return payload, fds

    try:
        payload, fds = _in_helper(work)
    except _NoFork:
        return None
    if payload.get("fallback"):
        return None
    if "error" in payload:
        close_fds(fds)
        return FirstStart(None, str(payload["error"]), None, False)
    return FirstStart(
        _handoff(payload, fds), None, LogTarget.from_json(payload["log"]),
        bool(payload["healthcheck"]),
    )


class _NoFork(Exception):
    pass



def _in_helper(work: Callable[[], Message]) -> Message:
    """`work()` in a helper child: its JSON payload and descriptors. Raises _NoFork when the
    system cannot fork, HelperDied when the helper ends without an answer."""
    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)  # before the fork: init must be adopted by us
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid = raw_fork.fork()  # no at-fork hooks: they would copy pages into this process
    except OSError as exc:
        ours.close()
        theirs.close()
        raise _NoFork from exc
    if pid == 0:  # pragma: no cover - the helper's outcome is checked through the socket
        status = 1
        try:
            ours.close()
            runtime.ADOPT_INIT = False  # our parent adopts init; we exit once it runs
            try:
                payload, fds = work()
            except BaseException as exc:  # every failure goes back to the parent, as text
                payload, fds = {"error": error_text(exc)}, []
            send_message(theirs, payload, fds)
            status = 0
        finally:
            os._exit(status)
    theirs.close()
    try:
        message, fds = receive_message(ours)
    finally:
        ours.close()
        with contextlib.suppress(ChildProcessError):
            wait_exit_code(pid)  # gone: init (if any) is re-parented to us by now
    if message is None:
        close_fds(fds)
        raise HelperDied("the container's start-up helper died")
    return message, fds


def _handoff_message(handoff: Handoff) -> Message:
    started = handoff.started
    fds = [fd for fd in (started.stdout_fd, started.stderr_fd) if fd >= 0]
    reservations = handoff.reservations
    payload: dict[str, Any] = {
        "init_pid": started.init_pid,
        "stage1_pid": started.stage1_pid,
        "stage1_resident": started.stage1_resident,
        "tty": started.stderr_fd < 0,
        "attached": handoff.attached,
        "addresses": handoff.addresses,
        "streams": len(fds),
        "console_client": started.console_client >= 0,  # its socket follows the streams
        "ports": [vars(p) for p in reservations.published] if reservations else [],
    }
    if started.console_client >= 0:
        fds.append(started.console_client)
    # Duplicates: the sockets close their own descriptors when the reservation object goes,
    # before the message is sent; these stay open until the helper exits.
    held = reservations.descriptors() if reservations else []
    return payload, fds + [os.dup(fd) for fd in held]


def _handoff(payload: dict[str, Any], fds: list[int]) -> Handoff:
    count = payload["streams"]
    streams = fds[:count]
    console_client = fds[count] if payload.get("console_client") else -1
    port_fds = fds[count + (1 if console_client >= 0 else 0):]
    reservations = PortReservations()
    reservations.adopt([published_from_json(p) for p in payload["ports"]], port_fds)
    stdout_fd = streams[0] if streams else -1
    stderr_fd = -1 if payload["tty"] or len(streams) < 2 else streams[1]
    started = runtime.StartedProcess(
        payload["init_pid"],
        payload["stage1_pid"],
        stdout_fd=stdout_fd,
        stderr_fd=stderr_fd,
        stage1_resident=payload["stage1_resident"],
        console_client=console_client,
    )
    return Handoff(
        started, list(payload["attached"]), dict(payload["addresses"]), reservations
    )
