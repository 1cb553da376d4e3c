"""IP address management: subnet choice and address allocation. Pure: no kernel, no files.

The driver gathers the facts (subnets of existing networks, networks of host addresses and
routes, addresses already handed out) and asks this module for a decision, so every rule
here is unit-tested without root.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from ipaddress import (
    AddressValueError,
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    NetmaskValueError,
)

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
    owners: Mapping[IPv4Network, str] | None = None,
) -> tuple[IPv4Network, IPv4Address]:
    """Decide (subnet, gateway) for a new network from the user's wishes and what is taken.

    An explicit subnet may overlap host routes (the user asked for it) but never another
    pycompose network, since two bridges with one subnet break routing for both. `owners`
    names the networks of `used`, for the error.
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
            clash = next((o for o in used if o != _DEFAULT_ROUTE and net.overlaps(o)), None)
            other = (owners or {}).get(clash) if clash is not None else None
            whose = f"network {other}'s subnet {clash}" if other else "another network's subnet"
            raise InvalidNetworkConfigError(
                f"subnet {net} overlaps with {whose}", subject=str(net),
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
    taken: Iterable[IPv4Address | int],
    requested: str | None = None,
    *,
    ip_range: IPv4Network | None = None,
    reserved: Iterable[IPv4Address] = (),
) -> IPv4Address:
    """The requested static address if it is free, else the lowest free host address
    (``taken``: addresses, or their integer values).

    Dynamic addresses come from ``ip_range`` only (when set); a static address may be any
    host address of the subnet, which is how users keep static and dynamic addresses apart
    (Docker's rule). ``reserved`` addresses (``aux_addresses``) are never handed out.
    """
    # In integers: this runs in every container attach, and IPv4Address objects (hashed
    # through Python code) cost the 50th container of a network ~1 ms of CPU.
    busy = {int(a) for a in taken}
    busy.add(int(gateway))
    held = {int(a) for a in reserved}
    if requested is None:
        return _lowest_free(subnet, ip_range, busy | held)
    addr = parse_address(requested)
    if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
        raise InvalidNetworkConfigError(
            f"address {addr} is not a usable host address of subnet {subnet}",
            subject=str(addr),
        )
    if int(addr) in held:
        raise AddressInUseError(f"address {addr} is reserved (aux_addresses)", subject=str(addr))
    if int(addr) in busy:
        what = "the gateway" if addr == gateway else "in use"
        raise AddressInUseError(f"address {addr} is {what}", subject=str(addr))
    return addr


def _lowest_free(
    subnet: IPv4Network, ip_range: IPv4Network | None, unavailable: set[int]
) -> IPv4Address:
    """The lowest host address of the pool (`ip_range`, else `subnet`) not in `unavailable`."""
    pool = ip_range if ip_range is not None else subnet
    unavailable = unavailable | {int(subnet.network_address), int(subnet.broadcast_address)}
    for value in range(int(pool.network_address), int(pool.broadcast_address) + 1):
        if value not in unavailable:
            return IPv4Address(value)
    where = f"ip_range {ip_range}" if ip_range is not None else f"subnet {subnet}"
    raise AddressPoolExhaustedError(f"no free address left in {where}", subject=str(pool))


def parse_ip_range(text: str | None, subnet: IPv4Network) -> IPv4Network | None:
    """The ``ip_range`` of an ``ipam.config`` entry: a CIDR block inside the subnet."""
    if text is None:
        return None
    try:
        block = IPv4Network(text, strict=True)
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise InvalidNetworkConfigError(
            f"invalid ip_range {text!r}: {exc}", subject=text,
            hint="use IPv4 CIDR notation inside the subnet, e.g. 172.28.5.0/24",
        ) from exc
    if not block.subnet_of(subnet):
        raise InvalidNetworkConfigError(
            f"ip_range {block} is not inside subnet {subnet}", subject=text,
        )
    return block


def parse_aux_addresses(
    aux: Mapping[str, str], subnet: IPv4Network, gateway: IPv4Address
) -> dict[str, IPv4Address]:
    """``aux_addresses`` (host name -> address): each a host address of the subnet."""
    out: dict[str, IPv4Address] = {}
    for name, text in aux.items():
        addr = parse_address(str(text), what=f"aux_addresses {name} address")
        if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
            raise InvalidNetworkConfigError(
                f"aux_addresses {name}: {addr} is not a usable host address of subnet {subnet}",
                subject=str(addr),
            )
        if addr == gateway:
            raise InvalidNetworkConfigError(
                f"aux_addresses {name}: {addr} is the gateway", subject=str(addr),
            )
        out[str(name)] = addr
    return out


# ---- IPv6 (``enable_ipv6``): an explicit subnet only, no default pool (Docker's rule).


def parse_subnet6(text: str) -> IPv6Network:
    """Parse an IPv6 subnet strictly (no host bits, room for a gateway and hosts)."""
    try:
        net = IPv6Network(text, strict=True)
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise InvalidNetworkConfigError(
            f"invalid IPv6 subnet {text!r}: {exc}", subject=text,
            hint="use IPv6 CIDR notation with the host bits zero, e.g. fd00:db8:1::/64",
        ) from exc
    if net.prefixlen > 124:
        raise InvalidNetworkConfigError(
            f"IPv6 subnet {text} is too small", subject=text,
            hint="use a prefix length of /124 or shorter (/64 is usual)",
        )
    return net


def plan_network6(
    subnet: str, gateway: str | None, used: Iterable[IPv6Network]
) -> tuple[IPv6Network, IPv6Address]:
    """(subnet, gateway) of a network's IPv6 side; the gateway defaults to ``subnet::1``."""
    net = parse_subnet6(subnet)
    if any(net.overlaps(o) for o in used):
        raise InvalidNetworkConfigError(
            f"IPv6 subnet {net} overlaps with another network's subnet", subject=str(net),
        )
    if gateway is None:
        return net, net.network_address + 1
    gw = parse_address6(gateway, what="IPv6 gateway")
    if gw not in net or gw == net.network_address:
        raise InvalidNetworkConfigError(
            f"IPv6 gateway {gw} is not a usable host address of subnet {net}", subject=str(gw),
        )
    return net, gw


def parse_address6(text: str, *, what: str = "IPv6 address") -> IPv6Address:
    """Parse one IPv6 address, turning a ValueError into a typed driver error."""
    try:
        return IPv6Address(text)
    except (AddressValueError, ValueError) as exc:
        raise InvalidNetworkConfigError(f"invalid {what} {text!r}: {exc}", subject=text) from exc


def allocate_address6(
    subnet: IPv6Network,
    gateway: IPv6Address,
    taken: Iterable[IPv6Address],
    requested: str | None = None,
) -> IPv6Address:
    """The static ``ipv6_address`` if free, else the lowest free address after the gateway."""
    busy = {*taken, gateway}
    if requested is not None:
        addr = parse_address6(requested)
        if addr not in subnet or addr == subnet.network_address:
            raise InvalidNetworkConfigError(
                f"IPv6 address {addr} is not a usable host address of subnet {subnet}",
                subject=str(addr),
            )
        if addr in busy:
            what = "the gateway" if addr == gateway else "in use"
            raise AddressInUseError(f"IPv6 address {addr} is {what}", subject=str(addr))
        return addr
    # Bounded: a /64 has 2**64 hosts; at most len(busy) + 1 candidates are looked at.
    for offset in range(1, len(busy) + 2):
        addr = subnet.network_address + offset
        if addr not in subnet:
            break
        if addr not in busy:
            return addr
    raise AddressPoolExhaustedError(f"no free address left in subnet {subnet}", subject=str(subnet))


def unicast_mac(text: str) -> bool:
    """Six hex octets split by `:` (or `-`), the group bit clear: what a veth can take (the
    kernel refuses a multicast address)."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        return False
    try:
        octets = [int(p, 16) for p in parts]
    except ValueError:
        return False
    return not octets[0] & 1


def mac_for(addr: IPv4Address) -> str:
    """Docker-style MAC from an IPv4 address: 02:42 + the four address bytes.

    Locally administered and unicast; deterministic, so ARP caches of peers stay valid when
    a container is re-created with the same address.
    """
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
