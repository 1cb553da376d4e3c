"""The embedded DNS resolver of one data root: `python -m engine.dns_server ROOT`.

Where it listens, and why: on UDP and TCP port 53 of each bridge network's gateway address, in the
host namespace (podman/aardvark-dns's choice), rather than Docker's 127.0.0.11 inside every
container. The gateway is already reachable from every container of the network — internal
networks included — so nothing is set up per container (no socket or DNAT rule inside each
netns, no setns per attach, no process per container), the network a query belongs to is
simply the address it arrived on, and forwarding uses the host's own resolvers (even a
loopback one like systemd-resolved) from the host namespace.

Lifecycle: one process per data root, detached, started in the background when a network
is created (`engine.api.Engine.ensure_network`) and on demand by any attach that finds it
missing (`engine.dns_control`). It reads the driver's state files on change (the
directory's mtime moves on every atomic replace), so attaching or detaching a container
updates the answers without touching other containers. It serves every network of its root
and exits once the root has no network left (a removal nudges it); the exit check takes the
same lock the starters take, so a starter never talks to a resolver that is about to leave.
Why it outlives the containers, unlike aardvark-dns: its start (a Python process, ~100 ms)
would otherwise be paid by the first container of every `up` and by every `run --rm`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import selectors
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from engine import dns_records as records
from engine.dns_control import control_address, lock_path
from engine.layout import Layout
from netdriver.snapshot import CachedLiveNetworks

IDLE_CHECK_SECONDS = 1.0
# A "check" (an endpoint went away) is answered this much later, once for all that came in
# meanwhile: a `down` of 50 containers sent 50 of them within ~200 ms, each a full re-read.
# Queries never wait for it: they re-read whatever changed themselves.
CHECK_DELAY_SECONDS = 0.02
FORWARD_TIMEOUT = 2.0
TCP_IDLE_SECONDS = 5.0  # a client may send several queries on one connection (RFC 7766)
TCP_MAX_CONNECTIONS = 64  # bounded: each connection is served on its own short thread


class Resolver:
    def __init__(self, root: Path, control: socket.socket) -> None:
        self.layout = Layout(root)
        self.networks = CachedLiveNetworks(self.layout.networks)  # parsed once per endpoint
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, "control")
        self.sockets: dict[str, socket.socket] = {}
        self.tcp_sockets: dict[str, socket.socket] = {}
        self.tcp_slots = threading.BoundedSemaphore(TCP_MAX_CONNECTIONS)
        self.zones: dict[str, records.Zone] = {}
        self.stamp: int | None = None
        self.loaded_at = 0.0
        self.running = True
        self.check_due: float | None = None

    # ---- state ------------------------------------------------------------------------
    def _dir_stamp(self) -> int | None:
        try:
            return os.stat(self.layout.networks).st_mtime_ns
        except OSError:
            return None

    def reload(self, force: bool = False) -> None:
        """Re-read the state if the directory changed, or at least once a second.

        The periodic re-read matters: directory mtimes are coarse (two changes within one
        clock tick leave the same stamp), and an owner that died without detaching (killed
        supervisor) changes no file at all until someone prunes it.
        """
        stamp = self._dir_stamp()
        now = time.monotonic()
        if not force and stamp == self.stamp and now - self.loaded_at < IDLE_CHECK_SECONDS:
            return
        self.stamp = stamp
        self.loaded_at = now
        self.zones = records.build_zones(self.networks.read())
        for table in (self.sockets, self.tcp_sockets):
            for gateway in list(table):
                if gateway not in self.zones:
                    sock = table.pop(gateway)
                    self.selector.unregister(sock)
                    sock.close()
        for gateway in self.zones:
            if gateway not in self.sockets:
                self._listen(gateway)

    def _listen(self, gateway: str) -> None:
        """UDP and TCP port 53 on ``gateway``; the gateway counts as served once both bind."""
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a past one
            udp.bind((gateway, 53))
            tcp.bind((gateway, 53))
            tcp.listen(16)
        except OSError:  # address not up yet, or a stale socket elsewhere: the next reload retries
            udp.close()
            tcp.close()
            self.stamp = None  # try again on the next event
            return
        udp.setblocking(False)
        tcp.setblocking(False)
        self.sockets[gateway] = udp
        self.tcp_sockets[gateway] = tcp
        self.selector.register(udp, selectors.EVENT_READ, ("udp", gateway))
        self.selector.register(tcp, selectors.EVENT_READ, ("tcp", gateway))

    # ---- control ----------------------------------------------------------------------
    def _control(self) -> None:
        try:
            conn, _ = self.control.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(2.0)
            try:
                command = conn.recv(64).decode(errors="replace").strip()
            except OSError:
                return
            if command == "sync":
                self.reload(force=True)
                with contextlib.suppress(OSError):
                    conn.sendall(("ok " + " ".join(sorted(self.sockets)) + "\n").encode())
            elif command == "check" and self.check_due is None:
                self.check_due = time.monotonic() + CHECK_DELAY_SECONDS

    def _maybe_exit(self) -> None:
        if self.zones:
            return
        fd = os.open(lock_path(self.layout), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # a starter is at work: it will find us alive
            self.reload(force=True)
            if not self.zones:
                self.control.close()  # frees the abstract name while the lock is held
                self.running = False
        finally:
            os.close(fd)

    # ---- queries ----------------------------------------------------------------------
    def _query(self, gateway: str, sock: socket.socket) -> None:
        try:
            data, client = sock.recvfrom(4096)
        except OSError:
            return
        self.reload()
        request = records.parse(data)
        zone = self.zones.get(gateway)
        if request is None or zone is None:
            return
        asking = client[0]
        reply = records.answer(
            self._zones_of(zone, asking), request, self._links(zone, asking)
        )
        if reply is not None:
            with contextlib.suppress(OSError):
                sock.sendto(records.fit_udp(reply, request), client)
            return
        if "." not in str(request.q.qname).rstrip("."):
            # An unknown single-label name is a container name that is not (or no longer) on
            # this network: answer NXDOMAIN here rather than leak it to the host's resolvers.
            with contextlib.suppress(OSError):
                sock.sendto(records.failure(request, records.NXDOMAIN), client)
            return
        upstreams = self._upstreams(zone, client[0])
        if zone.internal or not upstreams:
            with contextlib.suppress(OSError):
                sock.sendto(records.failure(request), client)
            return
        threading.Thread(
            target=_forward, args=(sock, data, client, upstreams, request), daemon=True
        ).start()

    def _accept(self, gateway: str, listener: socket.socket) -> None:
        try:
            conn, client = listener.accept()
        except OSError:
            return
        if not self.tcp_slots.acquire(blocking=False):
            conn.close()  # overloaded: the client falls back or retries
            return
        self.reload()
        zone = self.zones.get(gateway)
        threading.Thread(
            target=self._serve_tcp, args=(conn, client[0], zone), daemon=True
        ).start()

    def _serve_tcp(self, conn: socket.socket, client_ip: str, zone: records.Zone | None) -> None:
        """Queries over one TCP connection: 2-byte length prefix each way (RFC 1035 4.2.2)."""
        try:
            with conn:
                conn.setblocking(True)
                conn.settimeout(TCP_IDLE_SECONDS)
                while zone is not None:
                    data = _read_message(conn)
                    if data is None:
                        return
                    reply = self._tcp_reply(zone, client_ip, data)
                    if reply is None:
                        return
                    conn.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            return
        finally:
            self.tcp_slots.release()

    def _tcp_reply(self, zone: records.Zone, client_ip: str, data: bytes) -> bytes | None:
        request = records.parse(data)
        if request is None:
            return None
        reply = records.answer(
            self._zones_of(zone, client_ip), request, self._links(zone, client_ip)
        )
        if reply is not None:
            return reply
        if "." not in str(request.q.qname).rstrip("."):
            return records.failure(request, records.NXDOMAIN)
        upstreams = self._upstreams(zone, client_ip)
        if zone.internal or not upstreams:
            return records.failure(request)
        return _forward_tcp(data, upstreams) or records.failure(request)

    def _zones_of(self, zone: records.Zone, client_ip: str) -> tuple[records.Zone, ...]:
        """Where the asking container's names live: this network's zone, then its others."""
        return records.zones_of(self.zones, zone.owners.get(client_ip), zone)

    def _links(self, zone: records.Zone, client_ip: str) -> dict[str, str]:
        """The asking container's `links` aliases (alias -> name), from its own file."""
        owner = zone.owners.get(client_ip)
        if not owner:
            return {}
        try:
            text = (self.layout.container_dir(owner) / records.LINKS_FILE).read_text()
        except OSError:
            return {}
        return records.parse_links(text)

    def _upstreams(self, zone: records.Zone, client_ip: str) -> tuple[str, ...]:
        owner = zone.owners.get(client_ip)
        if owner:
            with contextlib.suppress(OSError):
                own = (self.layout.container_dir(owner) / "dns-upstreams").read_text().split()
                if own:
                    return tuple(own)
        try:
            return records.host_upstreams(Path("/etc/resolv.conf").read_text())
        except OSError:
            return ()

    def serve(self) -> None:
        self.reload(force=True)
        while self.running:
            timeout = IDLE_CHECK_SECONDS
            if self.check_due is not None:
                timeout = max(0.0, min(timeout, self.check_due - time.monotonic()))
            events = self.selector.select(timeout)
            for key, _ in events:
                if key.data == "control":
                    self._control()
                elif key.data[0] == "tcp":
                    self._accept(key.data[1], key.fileobj)  # type: ignore[arg-type]
                else:
                    self._query(key.data[1], key.fileobj)  # type: ignore[arg-type]
                if not self.running:
                    break
            if self.check_due is not None and time.monotonic() >= self.check_due:
                self.check_due = None
                self.reload(force=True)
                self._maybe_exit()
            elif not events:
                self.reload()
                self._maybe_exit()
        for sock in (*self.sockets.values(), *self.tcp_sockets.values()):
            sock.close()


def _forward(
    sock: socket.socket, data: bytes, client: tuple[str, int], upstreams: tuple[str, ...],
    request: object,
) -> None:
    """Relay one query to the upstream resolvers in turn; SERVFAIL if none answers."""
    for server in upstreams:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
            up.settimeout(FORWARD_TIMEOUT)
            try:
                up.sendto(data, (server, 53))
                reply, _ = up.recvfrom(65535)
            except OSError:
                continue
        with contextlib.suppress(OSError):
            sock.sendto(reply, client)
        return
    with contextlib.suppress(OSError):
        sock.sendto(records.failure(request), client)


def _read_exact(conn: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = conn.recv(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_message(conn: socket.socket) -> bytes | None:
    """One length-prefixed DNS message, or None at end of stream."""
    prefix = _read_exact(conn, 2)
    if prefix is None:
        return None
    return _read_exact(conn, int.from_bytes(prefix, "big"))


def _forward_tcp(data: bytes, upstreams: tuple[str, ...]) -> bytes | None:
    """Relay one query over TCP (the answer may be too big for UDP); None if none answers."""
    for server in upstreams:
        try:
            with socket.create_connection((server, 53), timeout=FORWARD_TIMEOUT) as up:
                up.sendall(len(data).to_bytes(2, "big") + data)
                reply = _read_message(up)
        except OSError:
            continue
        if reply is not None:
            return reply
    return None


def main(argv: list[str]) -> int:
    root = Path(argv[0])
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        control.bind(control_address(root))
    except OSError as exc:
        control.close()
        return 0 if exc.errno == errno.EADDRINUSE else 1  # one resolver per root is enough
    control.listen(16)
    # Detach: the starter waits for this process to exit, the resolver lives on in the child.
    if os.fork() > 0:
        os._exit(0)
    with contextlib.suppress(OSError):
        os.setsid()
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    Resolver(root, control).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
