"""A fork server for supervisors: pay Python's start-up and the supervisor's imports once per
CLI run, not once per container.

Starting `python -m engine.supervisor_launch` per container cost ~300 ms of CPU (mostly
imports), which dominated `up` of many services. The zygote is started on first use, imports
the supervisor, and for each request forks twice (setsid in between) so every supervisor is
detached exactly as before. It is single-threaded, so forking it is safe, unlike forking the
CLI, which runs a thread pool. It exits when its client goes away or after a short idle time.

Protocol (SOCK_SEQPACKET): request = "ROOT\\0CONTAINER_ID" with the report pipe's write end
attached (SCM_RIGHTS); the zygote answers b"A" once the supervisor has been forked.
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


def _spawn(sock: socket.socket, request: bytes, report_fd: int) -> None:
    from engine.supervisor import main as supervise

    root, container_id = request.decode().split("\0", 1)
    middle = os.fork()
    if middle == 0:
        try:
            sock.close()
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os._exit(supervise([root, container_id, str(report_fd)]))
        except BaseException:
            os._exit(1)
    os.close(report_fd)
    os.waitpid(middle, 0)


def preload() -> None:
    """Import (and warm) here everything a supervisor and its helper children run, so that it
    is shared copy-on-write by every supervisor this zygote forks instead of being loaded
    privately by each: the supervisor, netlink (pyroute2, loaded lazily elsewhere), the
    seccomp binding the runtime prewarms for init, and the codecs init looks up."""
    import codecs

    import engine.supervisor
    from netdriver import netlink

    # One netlink round trip: pyroute2 builds per-class state on first use (~20 ms), which
    # the supervisors' network helper children would otherwise each pay again.
    with contextlib.suppress(Exception), netlink.IPRoute() as ipr:
        ipr.link_lookup(ifname="lo")
    for name in ("ascii", "utf-8"):
        codecs.lookup(name)
    with contextlib.suppress(ImportError, OSError):  # the runtime reports it if it is needed
        import pyseccomp  # noqa: F401

        import engine.seccomp_profile  # noqa: F401
    # Move everything alive now out of the collector's reach: a collection in a supervisor
    # would otherwise write to (and so copy) every page holding a tracked object.
    gc.collect()
    gc.freeze()


def serve(sock: socket.socket) -> None:
    preload()
    while True:
        ready, _, _ = select.select([sock], [], [], IDLE_SECONDS)
        if not ready:
            sock.setblocking(False)
        try:
            message = _receive(sock)
        except BlockingIOError:
            return  # idle and nothing queued: the client starts a new zygote when needed
        except OSError:
            return
        if message is None:
            return
        request, fds = message
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        _spawn(sock, request, fds[0])
        with contextlib.suppress(OSError):
            sock.send(b"A")
        sock.setblocking(True)


def main() -> None:
    fd = int(sys.argv[1])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main()
