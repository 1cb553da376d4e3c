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
from ipaddress import IPv4Address, IPv4Network
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


def ensure_bridge(ifname: str, gateway: IPv4Address, prefixlen: int, mac: str) -> None:
    """Create the bridge if missing, make sure it has the gateway address, and bring it up.

    The MAC is set explicitly: otherwise a bridge takes the lowest MAC of its ports, and
    that changes whenever a container joins or leaves, briefly confusing peers' ARP caches.
    """
    with _kernel("set up bridge", ifname), IPRoute() as ipr:
        idx = _index(ipr, ifname)
        if idx is None:
            log.debug("creating bridge %s", ifname)
            ipr.link("add", ifname=ifname, kind="bridge", address=mac)
            idx = _index(ipr, ifname)
            if idx is None:
                raise NetlinkError(f"bridge {ifname} vanished right after creation", subject=ifname)
        have = {
            (m.get("IFA_ADDRESS"), m["prefixlen"])
            for m in ipr.get_addr(family=socket.AF_INET, index=idx)
        }
        if (str(gateway), prefixlen) not in have:
            ipr.addr("add", index=idx, address=str(gateway), prefixlen=prefixlen)
        ipr.link("set", index=idx, state="up")


@dataclass(frozen=True)
class PeerConfig:
    """What the container side of a veth pair gets."""

    ifname: str
    address: IPv4Address
    prefixlen: int
    mac: str
    gateway: IPv4Address | None  # None: no default route


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
            ipr.link(
                "add",
                ifname=host_ifname,
                kind="veth",
                master=br,
                state="up",
                peer={"ifname": peer.ifname, "net_ns_fd": nsfd, "address": peer.mac},
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
            ns.link("set", index=idx, state="up")
            lo = _index(ns, "lo")
            if lo is not None:
                ns.link("set", index=lo, state="up")
            if peer.gateway is not None:
                ns.route("add", dst="default", gateway=str(peer.gateway), oif=idx)

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
