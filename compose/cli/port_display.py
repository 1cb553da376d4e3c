"""`ps`'s PORTS text as docker's formatter writes it (docker/cli's DisplayablePorts, which
docker compose's `ps` calls on its publishers): ports sorted by container port then address,
a port published on its own number grouped with its neighbours into a range
(`0.0.0.0:8000-8001->8000-8001/tcp`), a port published on another number listed after the
groups (`0.0.0.0:8080->80/tcp`), an IPv6 address in brackets (`[::]:8080->80/tcp`), and a
port with no address (exposed, not published) as `80/tcp`."""

from __future__ import annotations

import socket

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Iterable

    # (host address or "", published port, container port, protocol)
    Port = tuple[str, int, int, str]


def _address_order(ip: str) -> tuple[int, bytes]:
    """Go's netip.Addr order: no address, then IPv4, then IPv6, each by its bytes."""
    if not ip:
        return (0, b"")
    if ":" in ip:
        return (128, socket.inet_pton(socket.AF_INET6, ip))
    return (32, socket.inet_pton(socket.AF_INET, ip))


def _order(port: Port) -> tuple[int, tuple[int, bytes], int, str]:
    ip, published, target, protocol = port
    return (target, _address_order(ip), published, protocol)


def _host_port(ip: str, port: str) -> str:
    """Go's net.JoinHostPort."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _group_text(key: str, first: int, last: int) -> str:
    ip, _, protocol = key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    if ip:
        ports = f"{_host_port(ip, ports)}->{ports}"
    return f"{ports}/{protocol}"


def displayable_ports(ports: Iterable[Port]) -> str:
    groups: dict[str, tuple[int, int]] = {}  # by address and protocol, in order of creation
    result: list[str] = []
    mappings: list[str] = []
    for ip, published, target, protocol in sorted(ports, key=_order):
        key = protocol
        if ip:
            if published != target:
                mappings.append(f"{_host_port(ip, str(published))}->{target}/{protocol}")
                continue
            key = f"{ip}/{protocol}"
        group = groups.get(key)
        if group is not None and target == group[1] + 1:
            groups[key] = (group[0], target)
            continue
        if group is not None:  # a gap: the finished range goes first, the key keeps its place
            result.append(_group_text(key, *group))
        groups[key] = (target, target)
    result.extend(_group_text(key, *group) for key, group in groups.items())
    return ", ".join([*result, *mappings])
