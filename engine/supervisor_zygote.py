"""A fork server for supervisors: pay Python's start-up and the supervisor's imports once per
CLI run, not once per container.

Starting a Python supervisor process per container cost ~300 ms of CPU (mostly
imports), which dominated `up` of many services. The zygote is started on first use, imports
the supervisor, and forks once per request; the child calls setsid itself, so every supervisor
is detached as before (own session, no terminal signals; it outlives the CLI and the zygote,
being re-parented to init when the zygote exits), and the zygote never waits for it: SIGCHLD is
ignored, so the kernel reaps supervisors that exit while the zygote still runs. It is
single-threaded, so forking it is safe, unlike forking the CLI, which runs a thread pool. It
exits when its client goes away or after a short idle time.

Preloading is staged so that the first request is not held up by what it does not need: the
core (supervisor, runtime, seccomp binding) loads before the first request is read; the
netlink stage (the driver's attach path, the netlink module and libc's setns handle; ~3 ms)
runs once no request has come for a moment, or at once when a request needs it (a bridge
attachment) or the client announces one (a one-off `run` of a bridged service, as soon as it
has loaded its project: the stage then overlaps the client's own work, while a
`network_mode: none` one-off finds the server idle), so every sibling shares it instead of
paying it privately.

Protocol (SOCK_SEQPACKET): request = "ROOT\\0CONTAINER_ID\\0FLAGS" (FLAGS: "n" when the
container needs netlink; "d": fork the root's DNS resolver instead, CONTAINER_ID empty) with
the report pipe's write end attached (SCM_RIGHTS). The zygote
answers b"A" as soon as it has the request, before forking, so a client may send the next one
at once; if the fork then fails, the report pipe closes without a report. A hint "\\0\\0w"
without a descriptor (load the netlink stage now) gets no answer.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import signal
import socket
import sys
from pathlib import Path

from engine import raw_fork

IDLE_SECONDS = 2.0
START_SERVER_NAME = "pycompose-start"  # the start server's process name (15 bytes at most)
WARM_AFTER_SECONDS = 0.05  # idle this long with the core loaded: load netlink too
MAX_FDS = 1
_FD_SIZE = 4  # a descriptor in SCM_RIGHTS is a C int
_ANCILLARY_SPACE = socket.CMSG_SPACE(MAX_FDS * _FD_SIZE)


def _receive(sock: socket.socket) -> tuple[bytes, list[int]] | None:
    """One request and its descriptors; None at end of stream. Lean on purpose, like the whole
    loop in `serve`: whatever it writes between two forks, the supervisor forked before keeps
    a private copy of (select() and an array here cost each supervisor ~40 pages more)."""
    data, ancillary, _flags, _addr = sock.recvmsg(4096, _ANCILLARY_SPACE)
    if not data:
        return None
    fds = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for start in range(0, len(payload) - _FD_SIZE + 1, _FD_SIZE):
                fds.append(int.from_bytes(payload[start:start + _FD_SIZE], sys.byteorder))
    return data, fds


def _spawn(
    sock: socket.socket, root: str, container_id: str, report_fd: int, start_server: int
) -> None:
    from engine.supervisor import supervise

    try:
        pid = raw_fork.fork()  # no at-fork hooks: ~0.4 MB less private per supervisor
    except OSError:
        pid = -1  # the closed report pipe tells the client
    if pid == 0:
        try:
            # Every line here runs in each supervisor and costs it private copies of pages:
            # terminal signals stay ignored (set in `main`), `supervise` does not set them again.
            sock.close()
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the supervisor reaps its children
            gc.enable()
            os._exit(supervise(root, container_id, report_fd, start_server))
        except BaseException:
            os._exit(1)
    os.close(report_fd)


class _StartServer:
    """The start server (engine.start_server), forked on the second supervisor request: it is
    part of this fork server, which waits for it at exit (a caller that waits for us, like the
    test suite's leak check, then finds neither running)."""

    def __init__(self) -> None:
        self.fd = -1  # our end of its listening socket: every supervisor inherits it
        self.pid = 0
        self.failed = False
        # Set by the first supervisor request: a lone start (a one-off `run`) is not held up
        # by the server's fork and its first, cold start (~10 ms more than a helper's).
        self.wanted = False

    def ensure(self) -> int:
        """Our end of its socket, from the second supervisor request on; -1 before, or when it
        cannot be forked (supervisors then start their containers as before)."""
        if self.fd < 0 and self.wanted and not self.failed:
            self.fd, self.pid = _fork_start_server()
            self.failed = self.fd < 0
        return self.fd

    def stop(self) -> None:
        """Close our end: the server exits once the supervisors' copies are closed too and the
        starts under way have ended (its connections time out: START_TIMEOUT_SECONDS)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            with contextlib.suppress(ChildProcessError):  # SIGCHLD ignored: waits, then ECHILD
                os.waitpid(self.pid, 0)
            self.pid = 0


def _fork_start_server() -> tuple[int, int]:
    """Fork the start server from this image, so it shares the engine's modules: our end of
    its listening socket and its pid, or (-1, 0)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid = raw_fork.fork()
    except OSError:
        ours.close()
        theirs.close()
        return -1, 0
    if pid == 0:
        try:
            os.setsid()
            with contextlib.suppress(OSError), open("/proc/self/comm", "w") as comm:
                comm.write(START_SERVER_NAME)  # `ps`, `top` and perf name it
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # it runs and reaps iptables
            from engine.processes import close_fds_except
            from engine.start_server import serve

            close_fds_except({0, 1, 2, theirs.fileno()})  # the client's socket, a report pipe
            gc.enable()

            serve(theirs)
            os._exit(0)
        except BaseException:
            os._exit(1)
    theirs.close()
    return ours.detach(), pid


def _spawn_resolver(sock: socket.socket, root: str, report_fd: int, start_server: int) -> None:
    """Fork the data root's DNS resolver (engine.dns_server) from this image, so it shares the
    interpreter and the engine's modules with the supervisors instead of being a Python of its
    own (~9-12 MB private as `python -m engine.dns_server`, ~1-2 MB forked from here).

    Report: "OK pid" once the control socket is bound and listening (connections queue from
    then on), "OK" when another resolver holds it already (one per data root), "ERR reason".
    """
    from engine.dns_control import control_address
    from engine.dns_server import Resolver

    try:
        pid = raw_fork.fork()
    except OSError:
        pid = -1
    if pid == 0:
        try:
            sock.close()
            if start_server >= 0:
                os.close(start_server)  # the start server exits once no one holds it
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            gc.enable()
            control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                control.bind(control_address(Path(root)))
            except OSError as exc:
                message = "OK" if exc.errno == errno.EADDRINUSE else f"ERR {exc.strerror}"
                os.write(report_fd, message.encode() + b"\n")
                os._exit(0)
            control.listen(16)
            os.write(report_fd, f"OK {os.getpid()}\n".encode())
            os.close(report_fd)
            Resolver(Path(root), control).serve()
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.close(report_fd)


def _preload_resolver() -> None:
    """The resolver's own modules, loaded here before forking it (see `_spawn_resolver`)."""
    import engine.dns_server  # noqa: F401

    _settle()


def _settle() -> None:
    """After a preload stage: out of the collector's reach (see `serve`), and the heap's free
    pages back to the kernel. Imports leave ~1.2 MB of freed but resident heap behind; kept,
    it is image that every supervisor shares and pays its part of, and it is no cheaper for a
    supervisor to reuse a copied page than a fresh one (bench/bench_supervisor_memory.py)."""
    gc.freeze()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _preload_core() -> None:
    """What every supervisor runs: the supervisor itself, Docker's default seccomp program
    the runtime loads for init (engine.seccomp_profile), and the codecs init looks up after
    pivot_root."""
    import codecs

    from engine import dataclass_code_cache

    dataclass_code_cache.install()
    import engine.supervisor
    from engine import cgroups

    cgroups.prewarm()

    for name in ("ascii", "utf-8"):
        codecs.lookup(name)
    with contextlib.suppress(ImportError, OSError, RuntimeError):  # reported by the runtime
        import engine.seccomp_profile
        from engine.capabilities import DOCKER_DEFAULT

        # Docker's default filter, once here (read as compiled by an earlier process, or built
        # through pyseccomp and libseccomp): each container's init inherits it.
        engine.seccomp_profile.compiled_profile(DOCKER_DEFAULT)
    _settle()


def _preload_netlink() -> None:
    """What a bridge attachment's helper child runs, done once here for every child: the
    driver's attach path (netdriver.api imports it lazily, so the core stage does not wait
    for it), the netlink module and its libc handle for setns (ctypes builds the function
    object on first use)."""
    import netdriver.endpoint_store
    import netdriver.firewall
    import netdriver.host_links
    import netdriver.ipam
    import netdriver.liveness
    import netdriver.names
    import netdriver.owners  # noqa: F401
    from netdriver import netlink

    with contextlib.suppress(OSError, AttributeError):
        netlink.warm_up()
    _settle()


def _parse(request: bytes) -> tuple[str, str, str] | None:
    parts = request.decode(errors="replace").split("\0")
    if len(parts) < 2:
        return None
    return parts[0], parts[1], parts[2] if len(parts) > 2 else "n"


def serve(sock: socket.socket) -> None:
    # Collections during the imports would only cost time: everything loaded here stays, and
    # gc.freeze() moves it out of the collector's reach for good (a collection in a supervisor
    # would otherwise write to, and so copy, every page holding a tracked object).
    gc.disable()
    _preload_core()
    from engine import dns_control

    dns_control.FORK_FROM_SPAWNER = False  # no fork server of their own for our children
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    start_server = _StartServer()
    try:
        _serve_requests(sock, start_server)
    finally:
        start_server.stop()


def _serve_requests(sock: socket.socket, start_server: _StartServer) -> None:
    netlink_loaded = False
    sock.settimeout(WARM_AFTER_SECONDS)  # the wait is poll() in C: no objects per request
    while True:
        try:
            message = _receive(sock)
        except TimeoutError:
            if netlink_loaded:
                return  # idle and nothing queued: the client starts a new zygote when needed
            _preload_netlink()  # nothing waiting: warm up for the bridge attachments
            netlink_loaded = True
            sock.settimeout(IDLE_SECONDS)
            continue
        except OSError:
            return
        if message is None:
            return
        data, fds = message
        parsed = _parse(data)
        if not fds and parsed is not None and parsed[2] == "w":  # a hint: no answer
            if not netlink_loaded:
                _preload_netlink()
                netlink_loaded = True
                sock.settimeout(IDLE_SECONDS)
            continue
        with contextlib.suppress(OSError):
            sock.send(b"A")  # received: from here the report pipe tells the outcome
        if len(fds) != 1 or parsed is None:
            for fd in fds:
                os.close(fd)  # a closed report pipe without a report: the client's error
            continue
        root, container_id, flags = parsed
        if ("n" in flags or "d" in flags) and not netlink_loaded:
            _preload_netlink()  # before the resolver too: it shares what supervisors load
            netlink_loaded = True
            sock.settimeout(IDLE_SECONDS)
        if "d" in flags:
            _preload_resolver()
            _spawn_resolver(sock, root, fds[0], start_server.fd)
        else:
            _spawn(sock, root, container_id, fds[0], start_server.ensure())
            start_server.wanted = True


def main() -> None:
    fd = int(sys.argv[1])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main()
