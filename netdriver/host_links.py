"""Links of the host namespace: bridges (create, address, up), link lookups and deletion, the
host's networks. What the CLI needs to create and remove a network, on :mod:`netdriver.rtnl`
(its own netlink messages: pyroute2's package ``__init__`` alone cost `up` and `down`
100-250 ms each, its message classes ~22 ms). Lookups use sysfs and if_nametoindex(3), one
ioctl, never a link dump (which grows with every veth on the host). Kernel refusals become
:class:`NetlinkError` carrying the kernel's reason.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address

from netdriver.debug_log import debug
from netdriver.errors import NetlinkError, kernel_refusals
from netdriver.rtnl import Rtnl

MAIN_TABLE = 254
_IFF_UP = 0x1
_IFA_F_NODAD = 0x02  # usable at once: duplicate address detection would hold it ~1 s


def index_of(ifname: str) -> int | None:
    """Index of ``ifname`` in the calling thread's namespace, or None."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return None


def link_exists(ifname: str) -> bool:
    """True if a link named ``ifname`` exists in the caller's (host) namespace."""
    return index_of(ifname) is not None


def existing_links(ifnames: Iterable[str]) -> set[str]:
    """Which of ``ifnames`` exist in the caller's namespace."""
    return {name for name in ifnames if link_exists(name)}


def bridge_ports(bridge: str) -> list[str]:
    """Names of the links enslaved to ``bridge`` (sysfs; empty if it does not exist)."""
    try:
        return sorted(os.listdir(f"/sys/class/net/{bridge}/brif"))
    except OSError:
        return []


def bridge_ready(ifname: str, gateway: IPv4Address) -> bool:
    """Cheap check (sysfs) that the bridge exists and is up; the gateway address is verified
    by :func:`ensure_bridge` whenever this says no, and at every ensure_network."""
    del gateway
    try:
        with open(f"/sys/class/net/{ifname}/flags", encoding="ascii") as handle:
            flags = int(handle.read(), 16)
    except (OSError, ValueError):
        return False
    return bool(flags & _IFF_UP) and os.path.isdir(f"/sys/class/net/{ifname}/bridge")


def host_networks() -> list[IPv4Network]:
    """Networks of the host's IPv4 addresses and main-table routes (default route excluded)."""
    nets: set[IPv4Network] = set()
    with kernel_refusals("read host addresses and routes"), Rtnl() as nl:
        for _index, addr, prefixlen in nl.addresses(socket.AF_INET):
            nets.add(IPv4Network((IPv4Address(addr), prefixlen), strict=False))
        for dst, dst_len in nl.routes(socket.AF_INET, MAIN_TABLE):
            if dst_len > 0:
                nets.add(IPv4Network((IPv4Address(dst), dst_len), strict=False))
    return sorted(nets)


def delete_link(ifname: str) -> bool:
    """Delete a host link by name; False if it did not exist (idempotent)."""
    idx = index_of(ifname)
    if idx is None:  # cheap common case: nothing to delete
        return False
    try:
        with Rtnl() as nl:
            nl.delete_link(idx)
    except OSError as exc:
        if exc.errno == errno.ENODEV:  # vanished meanwhile (e.g. its netns died)
            return False
        raise NetlinkError(f"delete link: {exc.strerror or exc}", subject=ifname) from exc
    return True


def enable_ipv6(ifname: str) -> None:
    """IPv6 on ``ifname`` in the calling thread's namespace (hosts may disable it by default)."""
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write("0")
    except FileNotFoundError as exc:
        raise NetlinkError(
            f"IPv6 is not available on this host ({path} is missing)", subject=ifname,
            hint="load the ipv6 module or drop enable_ipv6",
        ) from exc


def ensure_bridge(
    ifname: str,
    gateway: IPv4Address,
    prefixlen: int,
    mac: str,
    *,
    mtu: int | None = None,
    gateway6: tuple[IPv6Address, int] | None = None,
) -> None:
    """Create the bridge if missing, make sure it has the gateway address, and bring it up.

    The MAC is set explicitly: otherwise a bridge takes the lowest MAC of its ports, and
    that changes whenever a container joins or leaves, briefly confusing peers' ARP caches.
    An explicit MTU sticks (the kernel stops following the ports' MTU once it is set).
    """
    with kernel_refusals("set up bridge", ifname), Rtnl() as nl:
        idx = index_of(ifname)
        if idx is None:
            debug(__name__, "creating bridge %s", ifname)
            nl.new_bridge(ifname, mac, mtu)
            idx = index_of(ifname)
            if idx is None:
                raise NetlinkError(f"bridge {ifname} vanished right after creation", subject=ifname)
        elif mtu is not None:
            nl.set_link(idx, mtu=mtu)
        have = {(ip_address(a), p) for i, a, p in nl.addresses(socket.AF_INET) if i == idx}
        if (gateway, prefixlen) not in have:
            nl.add_address(idx, socket.AF_INET, gateway.packed, prefixlen)
        if gateway6 is not None:
            enable_ipv6(ifname)
            have6 = {(ip_address(a), p) for i, a, p in nl.addresses(socket.AF_INET6) if i == idx}
            if gateway6 not in have6:
                nl.add_address(
                    idx, socket.AF_INET6, gateway6[0].packed, gateway6[1], flags=_IFA_F_NODAD
                )
        nl.set_link(idx, up=True)
