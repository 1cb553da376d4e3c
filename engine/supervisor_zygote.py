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
netlink warm-up (the module, pyroute2's message classes without its package ``__init__``, and
libc's setns handle; ~10 ms, the whole of pyroute2 was ~70 ms) runs once no request has come
for a moment (a one-off `run` of a
`network_mode: none` service sends its only request just after the core is ready), or at once
when a request needs it (a bridge attachment), so every sibling shares it instead of paying it
privately.

Protocol (SOCK_SEQPACKET): request = "ROOT\\0CONTAINER_ID\\0FLAGS" (FLAGS: "n" when the
container needs netlink) with the report pipe's write end attached (SCM_RIGHTS). The zygote
answers b"A" as soon as it has the request, before forking, so a client may send the next one
at once; if the fork then fails, the report pipe closes without a report.
"""

from __future__ import annotations

import array
import contextlib
import gc
import os
import select
import signal
import socket
import sys

IDLE_SECONDS = 2.0
WARM_AFTER_SECONDS = 0.05  # idle this long with the core loaded: load netlink too
MAX_FDS = 1


def _receive(sock: socket.socket) -> tuple[bytes, list[int]] | None:
    fds = array.array("i")
    data, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(MAX_FDS * fds.itemsize))
    if not data:
        return None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    return data, list(fds)


def _spawn(sock: socket.socket, root: str, container_id: str, report_fd: int) -> None:
    from engine.supervisor import supervise

    try:
        pid = os.fork()
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
            os._exit(supervise(root, container_id, report_fd))
        except BaseException:
            os._exit(1)
    os.close(report_fd)


def _preload_core() -> None:
    """What every supervisor runs: the supervisor itself, the seccomp binding the runtime
    prewarms for init (loaded by soname, without ldconfig subprocesses), and the codecs init
    looks up after pivot_root."""
    import codecs

    import engine.supervisor
    from engine import syscalls

    for name in ("ascii", "utf-8"):
        codecs.lookup(name)
    with contextlib.suppress(ImportError, OSError, RuntimeError), \
            syscalls.sonames_without_ldconfig():  # the runtime reports it if it is needed
        import pyseccomp  # noqa: F401

        import engine.seccomp_profile  # noqa: F401
    gc.freeze()


def _preload_netlink() -> None:
    """What a bridge attachment's helper child runs, done once here for every child: the
    netlink module and its libc handle for setns (ctypes builds the function object on first
    use)."""
    from netdriver import netlink

    with contextlib.suppress(OSError, AttributeError):
        netlink.warm_up()
    gc.freeze()


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
    netlink_loaded = False
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    while True:
        timeout = IDLE_SECONDS if netlink_loaded else WARM_AFTER_SECONDS
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            if not netlink_loaded:  # nothing waiting: warm up for the bridge attachments
                _preload_netlink()
                netlink_loaded = True
                continue
            sock.setblocking(False)
        try:
            message = _receive(sock)
        except BlockingIOError:
            return  # idle and nothing queued: the client starts a new zygote when needed
        except OSError:
            return
        if message is None:
            return
        data, fds = message
        with contextlib.suppress(OSError):
            sock.send(b"A")  # received: from here the report pipe tells the outcome
        parsed = _parse(data)
        if len(fds) != 1 or parsed is None:
            for fd in fds:
                os.close(fd)  # a closed report pipe without a report: the client's error
            continue
        root, container_id, flags = parsed
        if "n" in flags and not netlink_loaded:
            _preload_netlink()
            netlink_loaded = True
        _spawn(sock, root, container_id, fds[0])
        sock.setblocking(True)


def main() -> None:
    fd = int(sys.argv[1])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main()
