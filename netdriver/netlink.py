"""Every netlink call of the driver, and nothing else (kernel-facing code is quarantined here).

Reaching into a container's network namespace: pyroute2's own ``IPRoute(netns=...)`` forks a
helper that calls setns(2) and passes the socket back. Forking costs ~10 ms per attach and is
hazardous in a multi-threaded caller (the engine's scheduler runs attaches on threads: a fork
copies locks other threads hold). setns(CLONE_NEWNET) only moves the *calling thread*, so we
run the namespace work on a short-lived thread of its own that enters the namespace, opens
its netlink socket there, configures, and exits. No other thread ever changes namespace,
and nothing forks. Kernel refusals become :class:`NetlinkError` carrying the kernel's reason
(strerror of the errno).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError as _PyrNetlinkError
from pyroute2.netns import setns as _setns

from netdriver.errors import NetlinkError

log = logging.getLogger(__name__)

_MAIN_TABLE = 254


@contextlib.contextmanager
def _kernel(action: str, subject: str | None = None) -> Iterator[None]:
    """Translate pyroute2/OS errors raised inside the block into our NetlinkError."""
    try:
        yield
    except _PyrNetlinkError as exc:
        reason = os.strerror(exc.code) if exc.code else str(exc)
        raise NetlinkError(f"{action}: {reason}", subject=subject) from exc
    except OSError as exc:
        raise NetlinkError(f"{action}: {exc.strerror or exc}", subject=subject) from exc


def _index(ipr: IPRoute, ifname: str) -> int | None:
    """Index of ``ifname`` in the calling thread's namespace (that of ``ipr``).

    if_nametoindex(3) is one ioctl on a socket of the caller's namespace, which is the one
    ``ipr`` was opened in; pyroute2's link_lookup dumps every link (slow with many veths).
    """
    del ipr  # kept in the signature: the namespace is implied by the calling thread
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return None


_IFF_UP = 0x1


def bridge_ready(ifname: str, gateway: IPv4Address) -> bool:
    """Cheap check (sysfs + one ioctl) that the bridge exists and is up; the gateway address
    is verified by :func:`ensure_bridge` whenever this says no, and at every ensure_network."""
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
    with _kernel("read host addresses and routes"), IPRoute() as ipr:
        for msg in ipr.get_addr(family=socket.AF_INET):
            addr = msg.get("IFA_ADDRESS") or msg.get("IFA_LOCAL")
            if addr:
                nets.add(IPv4Network(f"{addr}/{msg['prefixlen']}", strict=False))
        for msg in ipr.get_routes(family=socket.AF_INET, table=_MAIN_TABLE):
            dst = msg.get("RTA_DST")
            if dst and msg["dst_len"] > 0:
                nets.add(IPv4Network(f"{dst}/{msg['dst_len']}", strict=False))
    return sorted(nets)


def existing_links(ifnames: Iterable[str]) -> set[str]:
    """Which of ``ifnames`` exist in the caller's namespace.

    if_nametoindex(3) is one ioctl per name: far cheaper than a netlink link dump, which
    grows with every veth on the host.
    """
    return {name for name in ifnames if link_exists(name)}


def link_exists(ifname: str) -> bool:
    """True if a link named ``ifname`` exists in the caller's (host) namespace."""
    try:
        socket.if_nametoindex(ifname)
    except OSError:
        return False
    return True


def bridge_ports(bridge: str) -> list[str]:
    """Names of the links enslaved to ``bridge`` (sysfs; empty if it does not exist)."""
    try:
        return sorted(os.listdir(f"/sys/class/net/{bridge}/brif"))
    except OSError:
        return []


def delete_link(ifname: str) -> bool:
    """Delete a host link by name; False if it did not exist (idempotent)."""
    if not link_exists(ifname):  # cheap common case: nothing to delete
        return False
    with _kernel("delete link", ifname), IPRoute() as ipr:
        idx = _index(ipr, ifname)
        if idx is None:
            return False
        try:
            ipr.link("del", index=idx)
        except _PyrNetlinkError as exc:
            if exc.code == errno.ENODEV:  # vanished meanwhile (e.g. its netns died)
                return False
            raise
        return True


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
    with _kernel("set up bridge", ifname), IPRoute() as ipr:
        idx = _index(ipr, ifname)
        if idx is None:
            log.debug("creating bridge %s", ifname)
            extra = {"mtu": mtu} if mtu is not None else {}
            ipr.link("add", ifname=ifname, kind="bridge", address=mac, **extra)
            idx = _index(ipr, ifname)
            if idx is None:
                raise NetlinkError(f"bridge {ifname} vanished right after creation", subject=ifname)
        elif mtu is not None:
            ipr.link("set", index=idx, mtu=mtu)
        have = {
            (m.get("IFA_ADDRESS"), m["prefixlen"])
            for m in ipr.get_addr(family=socket.AF_INET, index=idx)
        }
        if (str(gateway), prefixlen) not in have:
            ipr.addr("add", index=idx, address=str(gateway), prefixlen=prefixlen)
        if gateway6 is not None:
            _enable_ipv6(ifname)
            have6 = {
                (m.get("IFA_ADDRESS"), m["prefixlen"])
                for m in ipr.get_addr(family=socket.AF_INET6, index=idx)
            }
            if (str(gateway6[0]), gateway6[1]) not in have6:
                _add_address6(ipr, idx, gateway6[0], gateway6[1])
        ipr.link("set", index=idx, state="up")


_IFA_F_NODAD = 0x02  # usable at once: duplicate address detection would hold it ~1 s


def _add_address6(ipr: IPRoute, index: int, address: IPv6Address, prefixlen: int) -> None:
    ipr.addr(
        "add", index=index, address=str(address), prefixlen=prefixlen,
        family=socket.AF_INET6, flags=_IFA_F_NODAD,
    )


def _enable_ipv6(ifname: str) -> None:
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


@dataclass(frozen=True)
class PeerConfig:
    """What the container side of a veth pair gets."""

    ifname: str
    address: IPv4Address
    prefixlen: int
    mac: str
    gateway: IPv4Address | None  # None: no default route
    mtu: int | None = None  # both ends of the pair; None: the kernel's default (1500)
    address6: IPv6Address | None = None
    prefixlen6: int = 0
    gateway6: IPv6Address | None = None  # None: no IPv6 default route


def create_attachment(host_ifname: str, bridge: str, netns_path: str, peer: PeerConfig) -> None:
    """Make a veth pair: host end on ``bridge`` and up; peer configured in ``netns_path``.

    The peer is created directly inside the target namespace under its final name, so it
    never occupies a name in the host namespace. On any failure the host end is deleted,
    which takes the peer with it, and NetlinkError is raised.
    """
    try:
        nsfd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetlinkError(
            f"open network namespace {netns_path}: {exc.strerror}", subject=netns_path
        ) from exc
    created = False
    try:
        with _kernel("create veth pair", host_ifname), IPRoute() as ipr:
            br = _index(ipr, bridge)
            if br is None:
                raise NetlinkError(f"bridge {bridge} does not exist", subject=bridge)
            # One request: created enslaved to the bridge and up (IFLA_MASTER + IFF_UP).
            peer_attrs: dict[str, object] = {
                "ifname": peer.ifname, "net_ns_fd": nsfd, "address": peer.mac,
            }
            mtu: dict[str, int] = {}
            if peer.mtu is not None:
                mtu = {"mtu": peer.mtu}
                peer_attrs["mtu"] = peer.mtu
            ipr.link(
                "add",
                ifname=host_ifname,
                kind="veth",
                master=br,
                state="up",
                peer=peer_attrs,
                **mtu,
            )
            created = True
        _configure_peer(nsfd, netns_path, peer)
    except BaseException:
        if created:
            with contextlib.suppress(NetlinkError):
                delete_link(host_ifname)
        raise
    finally:
        os.close(nsfd)


_T = TypeVar("_T")


def run_in_netns(nsfd: int, fn: Callable[[], _T]) -> _T:
    """Run ``fn`` on a fresh thread that has entered the network namespace ``nsfd``.

    The thread ends afterwards, so the namespace switch never leaks into any other code.
    Exceptions of ``fn`` are re-raised in the caller.
    """
    result: list[_T] = []
    error: list[BaseException] = []
    want = os.fstat(nsfd).st_ino

    def body() -> None:
        try:
            _setns(nsfd, flags=0, fork=False)
            if os.stat("/proc/thread-self/ns/net").st_ino != want:
                raise OSError(errno.EINVAL, "setns did not enter the namespace")
            result.append(fn())
        except BaseException as exc:  # handed to the caller below
            error.append(exc)

    worker = threading.Thread(target=body, name="netdriver-netns", daemon=True)
    worker.start()
    worker.join()
    if error:
        raise error[0]
    return result[0]


def _configure_peer(nsfd: int, netns_path: str, peer: PeerConfig) -> None:
    """Inside the namespace: address, link up, lo up, default route."""

    def configure() -> None:
        with IPRoute() as ns:  # created on the netns thread: the socket lives in that netns
            idx = _index(ns, peer.ifname)
            if idx is None:
                raise NetlinkError(f"{peer.ifname} not found in {netns_path}", subject=netns_path)
            ns.addr("add", index=idx, address=str(peer.address), prefixlen=peer.prefixlen)
            if peer.address6 is not None:
                _enable_ipv6(peer.ifname)
                _add_address6(ns, idx, peer.address6, peer.prefixlen6)
            ns.link("set", index=idx, state="up")
            lo = _index(ns, "lo")
            if lo is not None:
                ns.link("set", index=lo, state="up")
            if peer.gateway is not None:
                ns.route("add", dst="default", gateway=str(peer.gateway), oif=idx)
            if peer.gateway6 is not None:
                ns.route(
                    "add", dst="::/0", gateway=str(peer.gateway6), oif=idx,
                    family=socket.AF_INET6,
                )

    with _kernel(f"configure {peer.ifname} in {netns_path}", netns_path):
        run_in_netns(nsfd, configure)


def loopback_up(netns_path: str) -> None:
    """Set ``lo`` up inside the namespace at ``netns_path``."""
    try:
        nsfd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetlinkError(
            f"open network namespace {netns_path}: {exc.strerror}", subject=netns_path
        ) from exc

    def configure() -> None:
        with IPRoute() as ns:
            lo = _index(ns, "lo")
            if lo is not None:
                ns.link("set", index=lo, state="up")

    try:
        with _kernel(f"set lo up in {netns_path}", netns_path):
            run_in_netns(nsfd, configure)
    finally:
        os.close(nsfd)
