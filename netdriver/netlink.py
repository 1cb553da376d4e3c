"""Netlink in container namespaces (veth pairs, addresses, routes) on pyroute2; the host
namespace's bridge and link work lives in :mod:`netdriver.host_links`, on a
small rtnetlink client, so the CLI never imports pyroute2. Kernel-facing code stays in these
modules.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError as _PyrNetlinkError
from pyroute2.netns import setns as _setns

from netdriver.errors import NetlinkError
from netdriver.host_links import delete_link, enable_ipv6

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


_IFA_F_NODAD = 0x02  # usable at once: duplicate address detection would hold it ~1 s


def _add_address6(ipr: IPRoute, index: int, address: IPv6Address, prefixlen: int) -> None:
    ipr.addr(
        "add", index=index, address=str(address), prefixlen=prefixlen,
        family=socket.AF_INET6, flags=_IFA_F_NODAD,
    )


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
                enable_ipv6(peer.ifname)
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
