"""A minimal rtnetlink client (RFC 3549 messages over an AF_NETLINK socket): create a bridge
or a veth pair (its peer made directly in another namespace), add an address or a route, set a
link up or its MTU, delete a link, dump addresses and routes. It speaks for the namespace of
the thread that opened the socket.

Why not pyroute2: importing it costs 70-250 ms (its package ``__init__`` loads ~60 modules),
and every `up` and `down` CLI, and every container's attach, would pay that, in time and in
pages each forked supervisor touches, for the dozen requests networking needs. Requests are
synchronous: each waits for the kernel's acknowledgement, and a refusal raises OSError with
the kernel's errno.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP, NLM_F_EXCL, NLM_F_CREATE = 0x300, 0x200, 0x400
RTM_NEWLINK, RTM_DELLINK = 16, 17
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO = 1, 3, 4, 10, 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
IFF_UP = 0x1

_HDR = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, ...
_ATTR = struct.Struct("=HH")  # rtattr: length, type
_ERR = struct.Struct("=i")

_seq = itertools.count(1)


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    raw = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return raw + b"\0" * (_align(len(raw)) - len(raw))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """Attributes of a message body (the first of each type wins; nesting left packed)."""
    out: dict[int, bytes] = {}
    offset = 0
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        out.setdefault(kind & 0x3FFF, data[offset + _ATTR.size: offset + length])
        offset += _align(length)
    return out


def mac_bytes(mac: str) -> bytes:
    """``02:42:ac:11:00:02`` as the 6 bytes IFLA_ADDRESS carries."""
    return bytes.fromhex(mac.replace(":", ""))


@dataclass(frozen=True)
class VethPeer:
    """The far end of a new veth pair: its name and MAC inside the namespace of ``netns_fd``."""

    ifname: str
    netns_fd: int
    mac: str


@dataclass(frozen=True)
class Message:
    kind: int
    body: bytes


def _messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, sequence, body) of each message in one datagram."""
    offset = 0
    while offset + _HDR.size <= len(data):
        length, kind, flags, seq, _pid = _HDR.unpack_from(data, offset)
        if length < _HDR.size:
            break
        yield kind, flags, seq, data[offset + _HDR.size: offset + length]
        offset += _align(length)


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

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        seq = next(_seq)
        self.sock.send(_HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body)
        return seq

    def request(self, kind: int, flags: int, body: bytes) -> None:
        """Send one request and wait for its acknowledgement; OSError(errno) on refusal."""
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)
        while True:
            for mtype, _flags, mseq, mbody in _messages(self.sock.recv(65536)):
                if mseq != seq or mtype != NLMSG_ERROR:
                    continue
                (code,) = _ERR.unpack_from(mbody)
                if code:
                    raise OSError(-code, os.strerror(-code))
                return

    def dump(self, kind: int, body: bytes) -> list[Message]:
        """Every message of a dump request (until NLMSG_DONE)."""
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)
        out: list[Message] = []
        while True:
            for mtype, _flags, mseq, mbody in _messages(self.sock.recv(1 << 16)):
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    (code,) = _ERR.unpack_from(mbody)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return out
                out.append(Message(mtype, mbody))

    # ---- the requests the driver needs ------------------------------------------------------
    def new_bridge(self, ifname: str, mac: str, mtu: int | None) -> None:
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        body += attr(IFLA_IFNAME, ifname.encode() + b"\0")
        body += attr(IFLA_ADDRESS, mac_bytes(mac))
        if mtu is not None:
            body += attr(IFLA_MTU, struct.pack("=I", mtu))
        body += attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"bridge"))
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def new_veth(self, ifname: str, peer: VethPeer, *, master: int, mtu: int | None) -> None:
        """A veth pair: ``ifname`` here, enslaved to ``master`` and up, in one request; the
        peer made directly in ``peer.netns_fd``'s namespace (it never takes a name here)."""
        peer_body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        peer_body += attr(IFLA_IFNAME, peer.ifname.encode() + b"\0")
        peer_body += attr(IFLA_NET_NS_FD, struct.pack("=I", peer.netns_fd))
        peer_body += attr(IFLA_ADDRESS, mac_bytes(peer.mac))
        if mtu is not None:
            peer_body += attr(IFLA_MTU, struct.pack("=I", mtu))
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, IFF_UP, IFF_UP)
        body += attr(IFLA_IFNAME, ifname.encode() + b"\0")
        body += attr(IFLA_MASTER, struct.pack("=I", master))
        if mtu is not None:
            body += attr(IFLA_MTU, struct.pack("=I", mtu))
        info = attr(IFLA_INFO_KIND, b"veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_body))
        body += attr(IFLA_LINKINFO, info)
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def add_default_route(self, family: int, gateway: bytes, oif: int) -> None:
        """``default via gateway dev oif`` in the main table (what `ip route add` sends)."""
        body = _RTMSG.pack(
            family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0
        )
        body += attr(RTA_GATEWAY, gateway) + attr(RTA_OIF, struct.pack("=I", oif))
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body)

    def set_link(self, index: int, *, up: bool | None = None, mtu: int | None = None) -> None:
        flags = IFF_UP if up else 0
        change = IFF_UP if up is not None else 0
        body = _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)
        if mtu is not None:
            body += attr(IFLA_MTU, struct.pack("=I", mtu))
        self.request(RTM_NEWLINK, 0, body)

    def delete_link(self, index: int) -> None:
        self.request(RTM_DELLINK, 0, _IFINFO.pack(socket.AF_UNSPEC, 0, index, 0, 0))

    def add_address(
        self, index: int, family: int, address: bytes, prefixlen: int, flags: int = 0
    ) -> None:
        body = _IFADDR.pack(family, prefixlen, flags, 0, index)
        body += attr(IFA_LOCAL, address) + attr(IFA_ADDRESS, address)
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)

    def addresses(self, family: int) -> list[tuple[int, bytes, int]]:
        """(link index, packed address, prefix length) of every address of ``family``."""
        out = []
        for msg in self.dump(RTM_GETADDR, _IFADDR.pack(family, 0, 0, 0, 0)):
            fam, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(msg.body)
            if fam != family:
                continue
            attrs = parse_attrs(msg.body[_IFADDR.size:])
            addr = attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL)
            if addr:
                out.append((index, addr, prefixlen))
        return out

    def routes(self, family: int, table: int) -> list[tuple[bytes, int]]:
        """(packed destination, prefix length) of the routes of ``table`` with a destination."""
        out = []
        for msg in self.dump(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)):
            fields = _RTMSG.unpack_from(msg.body)
            attrs = parse_attrs(msg.body[_RTMSG.size:])
            rtable = struct.unpack("=I", attrs[RTA_TABLE])[0] if RTA_TABLE in attrs else fields[4]
            if fields[0] == family and rtable == table and RTA_DST in attrs:
                out.append((attrs[RTA_DST], fields[1]))
        return out
