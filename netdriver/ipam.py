"""IP address management: subnet choice and address allocation. Pure: no kernel, no files.

The driver gathers the facts (subnets of existing networks, networks of host addresses and
routes, addresses already handed out) and asks this module for a decision, so every rule
here is unit-tested without root.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import AddressValueError, IPv4Address, IPv4Network, NetmaskValueError

from netdriver.errors import (
    AddressInUseError,
    AddressPoolExhaustedError,
    InvalidNetworkConfigError,
)

#: Docker's default address pools: (base, size of each subnet carved from it).
DEFAULT_POOLS: tuple[tuple[IPv4Network, int], ...] = (
    (IPv4Network("172.17.0.0/16"), 16),
    (IPv4Network("172.18.0.0/15"), 16),
    (IPv4Network("172.20.0.0/14"), 16),
    (IPv4Network("172.24.0.0/13"), 16),
    (IPv4Network("192.168.0.0/16"), 20),
)

_DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


def candidate_subnets(
    pools: Iterable[tuple[IPv4Network, int]] = DEFAULT_POOLS,
) -> Iterator[IPv4Network]:
    """Subnets in pool order: 172.17/16 … 172.31/16, then 192.168.0/20 … 192.168.240/20."""
    for base, prefixlen in pools:
        yield from base.subnets(new_prefix=prefixlen)


def parse_subnet(text: str) -> IPv4Network:
    """Parse a user subnet strictly: IPv4, CIDR, no host bits, room for gateway + one host."""
    try:
        net = IPv4Network(text, strict=True)
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise InvalidNetworkConfigError(
            f"invalid subnet {text!r}: {exc}", subject=text,
            hint="use IPv4 CIDR notation with the host bits zero, e.g. 172.28.0.0/16",
        ) from exc
    if net.prefixlen > 30:
        raise InvalidNetworkConfigError(
            f"subnet {text} is too small: it needs a gateway and at least one host address",
            subject=text, hint="use a prefix length of /30 or shorter",
        )
    return net


def parse_address(text: str, *, what: str = "address") -> IPv4Address:
    """Parse one IPv4 address, turning a ValueError into a typed driver error."""
    try:
        return IPv4Address(text)
    except (AddressValueError, ValueError) as exc:
        raise InvalidNetworkConfigError(f"invalid {what} {text!r}: {exc}", subject=text) from exc


def overlaps_any(net: IPv4Network, others: Iterable[IPv4Network]) -> bool:
    """True if ``net`` overlaps any of ``others`` (the default route is never counted)."""
    return any(o != _DEFAULT_ROUTE and net.overlaps(o) for o in others)


def choose_subnet(
    used: Iterable[IPv4Network],
    host: Iterable[IPv4Network],
    pools: Iterable[tuple[IPv4Network, int]] = DEFAULT_POOLS,
) -> IPv4Network:
    """First pool subnet overlapping neither another network of ours nor the host's networks.

    Host networks (addresses and routes) are avoided so a container network never shadows a
    LAN or VPN the host needs, which is the mistake Docker users hit most.
    """
    taken = [*used, *host]
    for candidate in candidate_subnets(pools):
        if not overlaps_any(candidate, taken):
            return candidate
    raise AddressPoolExhaustedError(
        "all predefined address pools have been fully subnetted",
        hint="remove unused networks or give the network an explicit subnet",
    )


def gateway_for(subnet: IPv4Network) -> IPv4Address:
    """The default gateway: the first host address of the subnet (Docker's choice)."""
    return subnet.network_address + 1


def plan_network(
    subnet: str | None,
    gateway: str | None,
    used: Iterable[IPv4Network],
    host: Iterable[IPv4Network],
) -> tuple[IPv4Network, IPv4Address]:
    """Decide (subnet, gateway) for a new network from the user's wishes and what is taken.

    An explicit subnet may overlap host routes (the user asked for it) but never another
    pycompose network, since two bridges with one subnet break routing for both.
    """
    used = list(used)
    if subnet is None:
        if gateway is not None:
            raise InvalidNetworkConfigError(
                "a gateway needs an explicit subnet", subject=gateway,
                hint="set the subnet together with the gateway",
            )
        net = choose_subnet(used, host)
    else:
        net = parse_subnet(subnet)
        if overlaps_any(net, used):
            raise InvalidNetworkConfigError(
                f"subnet {net} overlaps with another network's subnet", subject=str(net),
                hint="pick a subnet that no other pycompose network uses",
            )
    if gateway is None:
        return net, gateway_for(net)
    gw = parse_address(gateway, what="gateway")
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise InvalidNetworkConfigError(
            f"gateway {gw} is not a usable host address of subnet {net}", subject=str(gw),
        )
    return net, gw


def allocate_address(
    subnet: IPv4Network,
    gateway: IPv4Address,
    taken: Iterable[IPv4Address],
    requested: str | None = None,
) -> IPv4Address:
    """The requested static address if it is free, else the lowest free host address."""
    busy = set(taken)
    busy.add(gateway)
    if requested is not None:
        addr = parse_address(requested)
        if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
            raise InvalidNetworkConfigError(
                f"address {addr} is not a usable host address of subnet {subnet}",
                subject=str(addr),
            )
        if addr in busy:
            what = "the gateway" if addr == gateway else "in use"
            raise AddressInUseError(f"address {addr} is {what}", subject=str(addr))
        return addr
    for addr in subnet.hosts():
        if addr not in busy:
            return addr
    raise AddressPoolExhaustedError(f"no free address left in subnet {subnet}", subject=str(subnet))


def mac_for(addr: IPv4Address) -> str:
    """Docker-style MAC from an IPv4 address: 02:42 + the four address bytes.

    Locally administered and unicast; deterministic, so ARP caches of peers stay valid when
    a container is re-created with the same address.
    """
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
