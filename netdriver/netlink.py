"""Netlink in container namespaces: a veth pair with its peer made inside the container's
network namespace, and the peer's address, link state and default routes, through
:mod:`netdriver.rtnl` (as :mod:`netdriver.host_links` uses for the host side): requests packed
with struct over a plain netlink socket.

Why not pyroute2's IPRoute: its package ``__init__`` was the start path's heaviest import
(70-120 ms, ~240 modules, more pages for every supervisor forked from the fork server) for six
requests; even its message classes cost an attach in a forked process ~1.6 ms of page faults.

Reaching into a container's network namespace: setns(CLONE_NEWNET) only moves the *calling
thread*, so the namespace work runs on a short-lived thread of its own that enters the
namespace, opens its netlink socket there, configures, and exits (in a process with no other
thread, the calling thread goes in and comes back instead). No other thread ever changes
namespace, and nothing forks (a fork in the engine's multi-threaded scheduler would copy locks
other threads hold). Kernel refusals become :class:`NetlinkError` carrying the kernel's reason
(strerror of the errno).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from netdriver.errors import NetlinkError, kernel_refusals
from netdriver.host_links import delete_link, enable_ipv6
from netdriver.offload import BIG_TCP_IPV4_SIZE, steer_receive, steering_mask
from netdriver.rtnl import Rtnl, VethPeer

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")

CLONE_NEWNET = 0x40000000
_IFA_F_NODAD = 0x02  # usable at once: duplicate address detection would hold it ~1 s


def _index(ifname: str) -> int | None:
    """Index of ``ifname`` in the calling thread's namespace.

    if_nametoindex(3) is one ioctl on a socket of the caller's namespace; a netlink dump of
    every link would be slow with many veths.
    """
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return None


@functools.cache
def _libc() -> ctypes.CDLL:
    # The interpreter's own symbols include libc's: no find_library (which runs ldconfig).
    return ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    """Move the calling thread into the network namespace ``fd`` (Python 3.11 has no os.setns)."""
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def warm_up() -> None:
    """Do the first-use work of :func:`_setns` now: a fork server calls this once so that
    the processes it forks share the result instead of each building it."""
    _libc().setns  # noqa: B018 - the attribute access is the work (ctypes caches the function)
    steering_mask()


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
        with kernel_refusals("create veth pair", host_ifname), Rtnl() as rtnl:
            br = _index(bridge)
            if br is None:
                raise NetlinkError(f"bridge {bridge} does not exist", subject=bridge)
            # One request: created enslaved to the bridge and up (IFLA_MASTER + IFF_UP).
            veth_peer = VethPeer(peer.ifname, nsfd, peer.mac)
            try:
                rtnl.new_veth(host_ifname, veth_peer, master=br, mtu=peer.mtu,
                              ipv4_gso_max=BIG_TCP_IPV4_SIZE)
            except OSError as exc:  # a kernel that refuses the size: plain 64 KiB offloads
                if exc.errno not in (errno.EINVAL, errno.ERANGE):
                    raise
                rtnl.new_veth(host_ifname, veth_peer, master=br, mtu=peer.mtu)
            created = True
        steer_receive(host_ifname)  # one flow, one CPU: see netdriver.offload
        _configure_peer(nsfd, netns_path, peer)
    except BaseException:
        if created:
            with contextlib.suppress(NetlinkError):
                delete_link(host_ifname)
        raise
    finally:
        os.close(nsfd)




_THIS_THREAD = threading.local()


def switch_this_thread() -> None:
    """Let `run_in_netns` switch the calling thread itself: for a thread that runs nothing
    after its own work (a start server's, engine.start_server), as a lone thread does."""
    _THIS_THREAD.switches = True


def run_in_netns(nsfd: int, fn: Callable[[], _T]) -> _T:
    """Run ``fn`` on a fresh thread that has entered the network namespace ``nsfd``.

    The thread ends afterwards, so the namespace switch never leaks into any other code.
    Exceptions of ``fn`` are re-raised in the caller. A process with no other thread (a
    container's start-up helper), or a thread that said so (`switch_this_thread`), runs ``fn``
    on its own thread instead, entering and then leaving the namespace: no other code runs on
    it meanwhile, and a thread there cost ~0.6 ms of CPU and ~100 page faults per container.
    """
    if threading.active_count() == 1 or getattr(_THIS_THREAD, "switches", False):
        return _run_switched(nsfd, fn)
    result: list[_T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            _enter(nsfd)
            result.append(fn())
        except BaseException as exc:  # handed to the caller below
            error.append(exc)

    worker = threading.Thread(target=body, name="netdriver-netns", daemon=True)
    worker.start()
    worker.join()
    if error:
        raise error[0]
    return result[0]


def _run_switched(nsfd: int, fn: Callable[[], _T]) -> _T:
    """``fn`` with the calling thread in the namespace ``nsfd``, then back in its own. The way
    back cannot fail short of a kernel bug (it is the namespace the thread came from); if it
    did, the error says so, and the caller, a process about to exit, fails its start."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _enter(nsfd)
            return fn()
        finally:
            try:
                _setns(home)
            except OSError as exc:
                raise NetlinkError(
                    f"cannot return to the original network namespace: {exc.strerror}"
                ) from exc
    finally:
        os.close(home)


def _enter(nsfd: int) -> None:
    """Move the calling thread into the namespace ``nsfd`` and check that it got there."""
    _setns(nsfd)
    if os.stat("/proc/thread-self/ns/net").st_ino != os.fstat(nsfd).st_ino:
        raise OSError(errno.EINVAL, "setns did not enter the namespace")


def _configure_peer(nsfd: int, netns_path: str, peer: PeerConfig) -> None:
    """Inside the namespace: address, link up, lo up, default route."""

    def configure() -> None:
        with Rtnl() as ns:  # created on the netns thread: the socket lives in that netns
            idx = _index(peer.ifname)
            if idx is None:
                raise NetlinkError(f"{peer.ifname} not found in {netns_path}", subject=netns_path)
            ns.add_address(idx, socket.AF_INET, peer.address.packed, peer.prefixlen)
            if peer.address6 is not None:
                enable_ipv6(peer.ifname)
                ns.add_address(
                    idx, socket.AF_INET6, peer.address6.packed, peer.prefixlen6, _IFA_F_NODAD
                )
            ns.set_link(idx, up=True)
            lo = _index("lo")
            if lo is not None:
                ns.set_link(lo, up=True)
            if peer.gateway is not None:
                ns.add_default_route(socket.AF_INET, peer.gateway.packed, idx)
            if peer.gateway6 is not None:
                ns.add_default_route(socket.AF_INET6, peer.gateway6.packed, idx)

    with kernel_refusals(f"configure {peer.ifname} in {netns_path}", netns_path):
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
        with Rtnl() as ns:
            lo = _index("lo")
            if lo is not None:
                ns.set_link(lo, up=True)

    try:
        with kernel_refusals(f"set lo up in {netns_path}", netns_path):
            run_in_netns(nsfd, configure)
    finally:
        os.close(nsfd)
