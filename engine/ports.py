"""Published ports: what a container asks for, what it got, and holding the host ports.

Forwarding is done by DNAT rules (netdriver.firewall) — kernel fast path, no proxy process
per port, the container sees real traffic. But DNAT alone does not *own* a host port: another
program could bind it and silently lose its traffic, and two containers could both claim it.
So the supervisor also binds (without listening) one socket per published port and keeps it
for the container's lifetime: the kernel's bind is the atomic, host-wide allocator (two
parallel starts can never both get a port, a port already taken fails loudly with
EADDRINUSE, a random port is just ``bind(0)``), and the reservation dies with the supervisor,
so a crash frees the port without any cleanup.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.errors import EngineError, InvalidArgumentError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from netdriver.api import NetworkDriver


class PortAllocatedError(EngineError):
    """The host port is already in use by another container or program."""


@dataclass(frozen=True)
class PortSpec:
    """A requested mapping. ``published``: "8080", a range "8000-8010", or None (random)."""

    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class PublishedPort:
    """A mapping as it was made: the host port is always concrete."""

    host_ip: str
    host_port: int
    target: int
    protocol: str

    def docker_text(self) -> str:
        """``0.0.0.0:8080->80/tcp``, as ``docker ps`` prints it."""
        return f"{self.host_ip}:{self.host_port}->{self.target}/{self.protocol}"


def port_spec_from_json(raw: dict[str, object]) -> PortSpec:
    return PortSpec(
        target=int(str(raw["target"])),
        published=None if raw.get("published") is None else str(raw["published"]),
        host_ip=None if raw.get("host_ip") is None else str(raw["host_ip"]),
        protocol=str(raw.get("protocol") or "tcp"),
    )


def published_from_json(raw: dict[str, object]) -> PublishedPort:
    return PublishedPort(
        str(raw["host_ip"]), int(str(raw["host_port"])), int(str(raw["target"])),
        str(raw["protocol"]),
    )


def _candidates(spec: PortSpec, subject: str) -> list[int]:
    """Host ports to try in order; [0] means "let the kernel choose"."""
    if spec.protocol not in ("tcp", "udp"):
        raise InvalidArgumentError(
            f"{subject}: unsupported protocol {spec.protocol!r} for port {spec.target}",
            subject=subject, hint="use tcp or udp",
        )
    if not 1 <= spec.target <= 65535:
        raise InvalidArgumentError(f"{subject}: invalid port {spec.target}", subject=subject)
    if spec.published in (None, "", "0"):
        return [0]
    text = str(spec.published)
    try:
        low, _, high = text.partition("-")
        start, end = int(low), int(high or low)
    except ValueError:
        raise InvalidArgumentError(
            f"{subject}: invalid published port {text!r}", subject=subject
        ) from None
    if not 1 <= start <= end <= 65535:
        raise InvalidArgumentError(f"{subject}: invalid published port {text!r}", subject=subject)
    return list(range(start, end + 1))


def check_port(spec: PortSpec, subject: str) -> list[int]:
    """Refuse what cannot be published (also at create: no container is left for it); the
    host ports to try."""
    if ":" in (spec.host_ip or ""):  # forwarding is iptables' (IPv4) only: no ip6tables rules
        raise InvalidArgumentError(
            f"{subject}: publishing port {spec.target} on the IPv6 address {spec.host_ip} is not "
            "supported by pycompose's engine", subject=subject,
            hint="publish on an IPv4 address (127.0.0.1, 0.0.0.0)",
        )
    if spec.host_ip and not _is_ipv4(spec.host_ip):  # the bind failed as "port is allocated"
        raise InvalidArgumentError(
            f"{subject}: invalid host IP {spec.host_ip!r} for port {spec.target}: not an IP "
            "address", subject=subject)
    return _candidates(spec, subject)


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 and len(p) <= 3 for p in parts)


class PortReservations:
    """Sockets bound to the host ports of one container; close them to free the ports."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self.published: list[PublishedPort] = []

    def reserve(self, specs: Iterable[PortSpec], subject: str) -> list[PublishedPort]:
        """Bind every host port or none: on failure what was bound is released again."""
        try:
            for spec in specs:
                self.published.append(self._reserve_one(spec, subject))
        except BaseException:
            self.close()
            raise
        return list(self.published)

    def _reserve_one(self, spec: PortSpec, subject: str) -> PublishedPort:
        host_ip = spec.host_ip or "0.0.0.0"
        kind = socket.SOCK_STREAM if spec.protocol == "tcp" else socket.SOCK_DGRAM
        candidates = check_port(spec, subject)
        last: OSError | None = None
        for port in candidates:
            sock = socket.socket(socket.AF_INET, kind)
            try:
                sock.bind((host_ip, port))
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise InvalidArgumentError(
                        f"{subject}: host address {host_ip} of port {spec.target} is not an "
                        "address of this host", subject=subject,
                    ) from exc
                last = exc
                continue
            self._sockets.append(sock)
            return PublishedPort(host_ip, sock.getsockname()[1], spec.target, spec.protocol)
        wanted = spec.published or "a random port"
        raise PortAllocatedError(
            f"{subject}: Bind for {host_ip}:{wanted} failed: port is already allocated "
            f"({spec.target}/{spec.protocol}: {last.strerror if last else 'no free port'})",
            subject=subject, hint="choose another host port or stop what uses it",
        )

    def descriptors(self) -> list[int]:
        """The bound sockets' descriptors, to hand the reservations to another process
        (SCM_RIGHTS): a start-up helper reserves, the supervisor keeps them
        (engine.supervisor_launch)."""
        return [sock.fileno() for sock in self._sockets]

    def adopt(self, published: Sequence[PublishedPort], fds: Sequence[int]) -> None:
        """Take over reservations made by another process: `fds` are its bound sockets (as
        received, owned from now on), `published` what they hold, in the same order."""
        self._sockets.extend(socket.socket(fileno=fd) for fd in fds)
        self.published.extend(published)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets = []
        self.published = []


def format_ports(ports: Sequence[PublishedPort]) -> str:
    """The PORTS column of ``ps``: mappings joined by ", " (consecutive ones not merged)."""
    return ", ".join(p.docker_text() for p in ports)


def publish(
    driver: NetworkDriver,
    reservations: PortReservations,
    owner: str,
    specs: Sequence[PortSpec],
    container_ip: str,
    subject: str,
) -> list[PublishedPort]:
    """Reserve the host ports, then forward them to ``container_ip``; all or nothing."""
    from netdriver.firewall import PortRule  # iptables' module: only where ports are published

    published = reservations.reserve(specs, subject)
    rules = [
        PortRule(p.protocol, p.host_ip, p.host_port, container_ip, p.target) for p in published
    ]
    try:
        driver.publish_ports(owner, rules)
    except BaseException:
        reservations.close()
        raise
    return published
