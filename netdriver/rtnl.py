"""A minimal rtnetlink client (RFC 3549 messages over an AF_NETLINK socket): create a bridge
or a veth pair (its peer made directly in another namespace), add an address or a route, set a
link up or its MTU, delete a link, dump addresses and routes. It speaks for the namespace of
the thread that opened the socket.

Requests are packed here with :mod:`struct` (a fixed header per message kind, then
type-length-value attributes), and the replies of the two dumps the driver needs (addresses,
routes: two fields and two attributes each) are read the same way. Why not pyroute2's message
classes: its encoder runs a lot of generic Python per message, and each container attach runs
in a freshly forked process, where every object that Python touches costs a copy-on-write page
fault: encoding one attach's five requests with pyroute2 cost ~1.6 ms and ~260 page faults
there, packing them costs a few dozen microseconds. Its decoders cost their import: ~22 ms
(pyroute2.netlink brings typing, logging, inspect) of every `up` that makes a network, for
four messages. pyroute2's classes stay the reference: the unit tests build the kernel's
replies with them (:mod:`netdriver.pyroute2_messages`) and :meth:`Rtnl.dump` decodes with
any of them. Requests are synchronous: each waits for the kernel's acknowledgement, and a
refusal raises OSError with the kernel's errno.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["IFF_UP", "RTN_UNICAST", "RTPROT_BOOT", "RT_SCOPE_UNIVERSE", "RT_TABLE_MAIN",
           "Rtnl", "VethPeer", "encode", "messages"]

NETLINK_ROUTE = 0
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
IFF_UP = 0x1

# <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/veth.h>, <linux/if_addr.h>
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x300, 0x200, 0x400
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_GETADDR, RTM_NEWROUTE, RTM_GETROUTE = (
    16, 17, 20, 22, 24, 26
)
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = (
    1, 3, 4, 10, 18, 28
)
IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE = 63, 64  # Linux 6.3+
IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE = 41, 58  # above 64 KiB: IPv6 BIG TCP, Linux 5.19+
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
NLA_TYPE_MASK = 0x3FFF  # an attribute's type without NLA_F_NESTED / NLA_F_NET_BYTEORDER

_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: length, type, flags, sequence, port id
_IFINFO = struct.Struct("=BxHiII")  # struct ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # struct ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # struct rtmsg: family .. type, flags
_ATTR = struct.Struct("=HH")  # struct rtattr: length, type
_U32 = struct.Struct("=I")
_ERRNO = struct.Struct("=i")  # struct nlmsgerr starts with the (negative) errno

_seq = itertools.count(1)


def messages() -> ModuleType:
    """pyroute2's message classes and constants, imported on first use (by tests, to build
    the kernel's replies and decode with :meth:`Rtnl.dump`): nothing on a command's path
    needs them."""
    from netdriver import pyroute2_messages

    return pyroute2_messages


@dataclass(frozen=True)
class VethPeer:
    """The far end of a new veth pair: its name and MAC inside the namespace of ``netns_fd``."""

    ifname: str
    netns_fd: int
    mac: str


def encode(msg: Any, kind: int, flags: int, seq: int) -> bytes:
    """The wire bytes of ``msg`` as request ``kind`` with ``flags`` and sequence ``seq``:
    ``msg`` is a packed body (what this module's requests are) or a pyroute2 message (tests
    build replies with those)."""
    if isinstance(msg, bytes | bytearray):
        return _HEADER.pack(_HEADER.size + len(msg), kind, flags, seq, 0) + bytes(msg)
    msg["header"]["type"] = kind
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg.encode()
    return bytes(msg.data)


def _attr(kind: int, payload: bytes) -> bytes:
    """One attribute (struct rtattr + payload), padded to 4 bytes."""
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + bytes(-length % 4)


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, _U32.pack(value))


def _text(kind: int, value: str) -> bytes:
    return _attr(kind, value.encode() + b"\0")


def _mac(kind: int, mac: str) -> bytes:
    return _attr(kind, bytes.fromhex(mac.replace(":", "")))


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(0, 0, index, flags, change)  # AF_UNSPEC, any link type


def _link_sizes(size: int | None) -> bytes:
    """The largest GSO packet a new link sends and GRO packet it builds, for IPv4 and (the
    generic sizes) IPv6: BIG TCP for both, see :mod:`netdriver.offload`."""
    if size is None:
        return b""
    return (_u32(IFLA_GSO_IPV4_MAX_SIZE, size) + _u32(IFLA_GRO_IPV4_MAX_SIZE, size)
            + _u32(IFLA_GSO_MAX_SIZE, size) + _u32(IFLA_GRO_MAX_SIZE, size))


def _messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, sequence, raw message) of each netlink message in one datagram."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _flags, seq, _port = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        yield kind, seq, data[offset:offset + length]
        offset += (length + 3) & ~3


def _attributes(raw: bytes, offset: int) -> dict[int, bytes]:
    """The attributes (type: payload) of the message ``raw`` from ``offset``, where its fixed
    header ends; a later attribute of one type replaces an earlier one."""
    out: dict[int, bytes] = {}
    while offset + _ATTR.size <= len(raw):
        length, kind = _ATTR.unpack_from(raw, offset)
        if length < _ATTR.size or offset + length > len(raw):
            break
        out[kind & NLA_TYPE_MASK] = raw[offset + _ATTR.size:offset + length]
        offset += (length + 3) & ~3
    return out


def _check(raw: bytes) -> None:
    """Raise OSError with the kernel's errno if the NLMSG_ERROR message ``raw`` is a refusal."""
    (code,) = _ERRNO.unpack_from(raw, _HEADER.size)
    if code:
        raise OSError(-code, os.strerror(-code))


class Rtnl:
    """One NETLINK_ROUTE socket of the calling thread's namespace; use as a context manager."""

    def __init__(self) -> None:
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
        )
        self.sock.bind((0, 0))

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _send(self, msg: Any, kind: int, flags: int) -> int:
        seq = next(_seq)
        self.sock.send(encode(msg, kind, flags, seq))
        return seq

    def request(self, kind: int, flags: int, msg: Any) -> None:
        """Send one request (its packed body) and wait for its acknowledgement; OSError(errno)
        on refusal."""
        seq = self._send(msg, kind, NLM_F_REQUEST | NLM_F_ACK | flags)
        while True:
            for mtype, mseq, raw in _messages(self.sock.recv(65536)):
                if mseq == seq and mtype == NLMSG_ERROR:
                    _check(raw)
                    return

    def dump_raw(self, kind: int, msg: Any) -> list[bytes]:
        """Every message of a dump request (until NLMSG_DONE), as received (header included)."""
        seq = self._send(msg, kind, NLM_F_REQUEST | NLM_F_DUMP)
        out: list[bytes] = []
        while True:
            for mtype, mseq, raw in _messages(self.sock.recv(1 << 16)):
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    _check(raw)
                    return out
                out.append(raw)

    def dump(self, kind: int, msg: Any, reply: type[Any]) -> list[Any]:
        """Every message of a dump request, decoded as ``reply`` (a pyroute2 message class)."""
        out = []
        for raw in self.dump_raw(kind, msg):
            decoded = reply(raw)
            decoded.decode()
            out.append(decoded)
        return out

    # ---- the requests the driver needs ------------------------------------------------------
    def new_bridge(self, ifname: str, mac: str, mtu: int | None) -> None:
        attrs = _text(IFLA_IFNAME, ifname) + _mac(IFLA_ADDRESS, mac)
        if mtu is not None:
            attrs += _u32(IFLA_MTU, mtu)
        attrs += _attr(IFLA_LINKINFO, _text(IFLA_INFO_KIND, "bridge"))
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, _ifinfo() + attrs)

    def new_veth(
        self, ifname: str, peer: VethPeer, *, master: int, mtu: int | None,
        ipv4_gso_max: int | None = None,
    ) -> None:
        """A veth pair: ``ifname`` here, enslaved to ``master`` and up, in one request; the
        peer made directly in ``peer.netns_fd``'s namespace (it never takes a name here).
        ``ipv4_gso_max`` (both ends): IPv4 BIG TCP, see ``netlink.BIG_TCP_IPV4_SIZE``."""
        mtu_attr = _u32(IFLA_MTU, mtu) if mtu is not None else b""
        sizes = _link_sizes(ipv4_gso_max)
        peer_body = (
            _ifinfo()
            + _text(IFLA_IFNAME, peer.ifname)
            + _u32(IFLA_NET_NS_FD, peer.netns_fd)
            + _mac(IFLA_ADDRESS, peer.mac)
            + mtu_attr
            + sizes
        )
        info = _text(IFLA_INFO_KIND, "veth") + _attr(
            IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_body)
        )
        body = (
            _ifinfo(flags=IFF_UP, change=IFF_UP)
            + _text(IFLA_IFNAME, ifname)
            + _u32(IFLA_MASTER, master)
            + mtu_attr
            + sizes
            + _attr(IFLA_LINKINFO, info)
        )
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def add_default_route(self, family: int, gateway: bytes, oif: int) -> None:
        """``default via gateway dev oif`` in the main table (what `ip route add` sends)."""
        body = _RTMSG.pack(
            family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0
        ) + _attr(RTA_GATEWAY, gateway) + _u32(RTA_OIF, oif)
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body)

    def set_link(self, index: int, *, up: bool | None = None, mtu: int | None = None) -> None:
        body = _ifinfo(index, IFF_UP if up else 0, IFF_UP if up is not None else 0)
        if mtu is not None:
            body += _u32(IFLA_MTU, mtu)
        self.request(RTM_NEWLINK, 0, body)

    def delete_link(self, index: int) -> None:
        self.request(RTM_DELLINK, 0, _ifinfo(index))

    def add_address(
        self, index: int, family: int, address: bytes, prefixlen: int, flags: int = 0
    ) -> None:
        body = _IFADDR.pack(family, prefixlen, flags, 0, index)
        body += _attr(IFA_LOCAL, address) + _attr(IFA_ADDRESS, address)
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)

    def addresses(self, family: int) -> list[tuple[int, bytes, int]]:
        """(link index, packed address, prefix length) of every address of ``family``."""
        out = []
        for raw in self.dump_raw(RTM_GETADDR, _IFADDR.pack(family, 0, 0, 0, 0)):
            got, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(raw, _HEADER.size)
            if got != family:
                continue
            attrs = _attributes(raw, _HEADER.size + _IFADDR.size)
            addr = attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL)
            if addr:
                out.append((index, addr, prefixlen))
        return out

    def routes(self, family: int, table: int) -> list[tuple[bytes, int]]:
        """(packed destination, prefix length) of the routes of ``table`` with a destination."""
        request = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        out = []
        for raw in self.dump_raw(RTM_GETROUTE, request):
            got, dst_len, _src_len, _tos, rtable = _RTMSG.unpack_from(raw, _HEADER.size)[:5]
            attrs = _attributes(raw, _HEADER.size + _RTMSG.size)
            if RTA_TABLE in attrs:  # tables above 255 are only here
                (rtable,) = _U32.unpack_from(attrs[RTA_TABLE])
            dst = attrs.get(RTA_DST)
            if got == family and rtable == table and dst is not None:
                out.append((dst, dst_len))
        return out
