"""A minimal rtnetlink client (RFC 3549 messages over an AF_NETLINK socket): create a bridge
or a veth pair (its peer made directly in another namespace), add an address or a route, set a
link up or its MTU, delete a link, dump addresses and routes. It speaks for the namespace of
the thread that opened the socket.

The messages are pyroute2's (encoding and decoding, :mod:`netdriver.pyroute2_messages`),
loaded without pyroute2's package ``__init__`` and its socket classes: those cost 70-120 ms
and ~240 modules, which every `up`, `down` and container attach would pay, in time and in the
pages each forked supervisor touches. Even those classes load on the first request (see
:func:`messages`), not with this module. The socket is a plain one of the calling thread.
Requests are synchronous: each waits for the kernel's acknowledgement, and a refusal raises
OSError with the kernel's errno.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["IFF_UP", "RTN_UNICAST", "RTPROT_BOOT", "RT_SCOPE_UNIVERSE", "RT_TABLE_MAIN",
           "Rtnl", "VethPeer", "encode", "messages", "warm_up"]

NETLINK_ROUTE = 0
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
IFF_UP = 0x1

_seq = itertools.count(1)


def messages() -> ModuleType:
    """pyroute2's message classes and constants, imported on first use: the CLI's `run` path
    imports this module (through netdriver.api) and often sends no request at all."""
    from netdriver import pyroute2_messages

    return pyroute2_messages


@dataclass(frozen=True)
class VethPeer:
    """The far end of a new veth pair: its name and MAC inside the namespace of ``netns_fd``."""

    ifname: str
    netns_fd: int
    mac: str


def encode(msg: Any, kind: int, flags: int, seq: int) -> bytes:
    """The wire bytes of ``msg`` as request ``kind`` with ``flags`` and sequence ``seq``."""
    msg["header"]["type"] = kind
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg.encode()
    return bytes(msg.data)


def _link_sizes(size: int | None) -> list[tuple[str, int]]:
    """The largest IPv4 GSO packet a new link sends and GRO packet it builds (BIG TCP)."""
    if size is None:
        return []
    return [("IFLA_GSO_IPV4_MAX_SIZE", size), ("IFLA_GRO_IPV4_MAX_SIZE", size)]


def _messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, sequence, raw message) of each netlink message in one datagram."""
    p2 = messages()
    offset = 0
    while offset + 16 <= len(data):  # 16: sizeof(struct nlmsghdr)
        head = p2.nlmsg(data[offset:offset + 16])
        head.decode()
        length = head["header"]["length"]
        if length < 16:
            break
        yield head["header"]["type"], head["header"]["sequence_number"], data[
            offset:offset + length
        ]
        offset += (length + 3) & ~3


def _check(raw: bytes) -> None:
    """Raise OSError with the kernel's errno if the NLMSG_ERROR message ``raw`` is a refusal."""
    p2 = messages()
    err = p2.nlmsgerr(raw)
    err.decode()
    code = err["error"]
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
        """Send one request (a pyroute2 message, not yet encoded) and wait for its
        acknowledgement; OSError(errno) on refusal."""
        p2 = messages()
        seq = self._send(msg, kind, p2.NLM_F_REQUEST | p2.NLM_F_ACK | flags)
        while True:
            for mtype, mseq, raw in _messages(self.sock.recv(65536)):
                if mseq == seq and mtype == p2.NLMSG_ERROR:
                    _check(raw)
                    return

    def dump(self, kind: int, msg: Any, reply: type[Any]) -> list[Any]:
        """Every message of a dump request (until NLMSG_DONE), decoded as ``reply``."""
        p2 = messages()
        seq = self._send(msg, kind, p2.NLM_F_REQUEST | p2.NLM_F_DUMP)
        out: list[Any] = []
        while True:
            for mtype, mseq, raw in _messages(self.sock.recv(1 << 16)):
                if mseq != seq:
                    continue
                if mtype == p2.NLMSG_DONE:
                    return out
                if mtype == p2.NLMSG_ERROR:
                    _check(raw)
                    return out
                decoded = reply(raw)
                decoded.decode()
                out.append(decoded)

    # ---- the requests the driver needs ------------------------------------------------------
    def new_bridge(self, ifname: str, mac: str, mtu: int | None) -> None:
        p2 = messages()
        msg = p2.ifinfmsg()
        attrs: list[tuple[str, Any]] = [("IFLA_IFNAME", ifname), ("IFLA_ADDRESS", mac)]
        if mtu is not None:
            attrs.append(("IFLA_MTU", mtu))
        attrs.append(("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]}))
        msg["attrs"] = attrs
        self.request(p2.RTM_NEWLINK, p2.NLM_F_CREATE | p2.NLM_F_EXCL, msg)

    def new_veth(
        self, ifname: str, peer: VethPeer, *, master: int, mtu: int | None,
        ipv4_gso_max: int | None = None,
    ) -> None:
        """A veth pair: ``ifname`` here, enslaved to ``master`` and up, in one request; the
        peer made directly in ``peer.netns_fd``'s namespace (it never takes a name here).
        ``ipv4_gso_max`` (both ends): IPv4 BIG TCP, see ``netlink.BIG_TCP_IPV4_SIZE``."""
        p2 = messages()
        mtu_attr = [("IFLA_MTU", mtu)] if mtu is not None else []
        peer_attrs: list[tuple[str, Any]] = [
            ("IFLA_IFNAME", peer.ifname),
            ("IFLA_NET_NS_FD", peer.netns_fd),
            ("IFLA_ADDRESS", peer.mac),
            *mtu_attr,
            *_link_sizes(ipv4_gso_max),
        ]
        info = {"attrs": [
            ("IFLA_INFO_KIND", "veth"),
            ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]}),
        ]}
        msg = p2.ifinfmsg()
        msg["flags"] = IFF_UP
        msg["change"] = IFF_UP
        msg["attrs"] = [
            ("IFLA_IFNAME", ifname),
            ("IFLA_MASTER", master),
            *mtu_attr,
            *_link_sizes(ipv4_gso_max),
            ("IFLA_LINKINFO", info),
        ]
        self.request(p2.RTM_NEWLINK, p2.NLM_F_CREATE | p2.NLM_F_EXCL, msg)

    def add_default_route(self, family: int, gateway: bytes, oif: int) -> None:
        """``default via gateway dev oif`` in the main table (what `ip route add` sends)."""
        p2 = messages()
        msg = p2.rtmsg()
        msg["family"] = family
        msg["table"] = RT_TABLE_MAIN
        msg["proto"] = RTPROT_BOOT
        msg["scope"] = RT_SCOPE_UNIVERSE
        msg["type"] = RTN_UNICAST
        msg["attrs"] = [
            ("RTA_GATEWAY", socket.inet_ntop(family, gateway)),
            ("RTA_OIF", oif),
        ]
        self.request(p2.RTM_NEWROUTE, p2.NLM_F_CREATE | p2.NLM_F_EXCL, msg)

    def set_link(self, index: int, *, up: bool | None = None, mtu: int | None = None) -> None:
        p2 = messages()
        msg = p2.ifinfmsg()
        msg["index"] = index
        msg["flags"] = IFF_UP if up else 0
        msg["change"] = IFF_UP if up is not None else 0
        if mtu is not None:
            msg["attrs"] = [("IFLA_MTU", mtu)]
        self.request(p2.RTM_NEWLINK, 0, msg)

    def delete_link(self, index: int) -> None:
        p2 = messages()
        msg = p2.ifinfmsg()
        msg["index"] = index
        self.request(p2.RTM_DELLINK, 0, msg)

    def add_address(
        self, index: int, family: int, address: bytes, prefixlen: int, flags: int = 0
    ) -> None:
        p2 = messages()
        text = socket.inet_ntop(family, address)
        msg = p2.ifaddrmsg()
        msg["family"] = family
        msg["prefixlen"] = prefixlen
        msg["flags"] = flags
        msg["index"] = index
        msg["attrs"] = [("IFA_LOCAL", text), ("IFA_ADDRESS", text)]
        self.request(p2.RTM_NEWADDR, p2.NLM_F_CREATE | p2.NLM_F_EXCL, msg)

    def addresses(self, family: int) -> list[tuple[int, bytes, int]]:
        """(link index, packed address, prefix length) of every address of ``family``."""
        p2 = messages()
        request = p2.ifaddrmsg()
        request["family"] = family
        out = []
        for msg in self.dump(p2.RTM_GETADDR, request, p2.ifaddrmsg):
            if msg["family"] != family:
                continue
            addr = msg.get_attr("IFA_ADDRESS") or msg.get_attr("IFA_LOCAL")
            if addr:
                out.append((msg["index"], socket.inet_pton(family, addr), msg["prefixlen"]))
        return out

    def routes(self, family: int, table: int) -> list[tuple[bytes, int]]:
        """(packed destination, prefix length) of the routes of ``table`` with a destination."""
        p2 = messages()
        request = p2.rtmsg()
        request["family"] = family
        out = []
        for msg in self.dump(p2.RTM_GETROUTE, request, p2.rtmsg):
            rtable = msg.get_attr("RTA_TABLE")
            if rtable is None:
                rtable = msg["table"]
            dst = msg.get_attr("RTA_DST")
            if msg["family"] == family and rtable == table and dst is not None:
                out.append((socket.inet_pton(family, dst), msg["dst_len"]))
        return out


class _Encoder(Rtnl):
    """An Rtnl without a socket: encodes each request and drops it (see :func:`warm_up`)."""

    def __init__(self) -> None:  # no socket: nothing is ever sent
        pass

    def request(self, kind: int, flags: int, msg: Any) -> None:
        encode(msg, kind, flags, 0)


def warm_up() -> None:
    """Encode one of each request an attachment sends, and decode an acknowledgement: pyroute2
    compiles a message class's attribute tables on its first use (~1 ms), and a fork server
    that does it once spares every process it forks."""
    p2 = messages()
    enc = _Encoder()
    enc.new_veth("warmup", VethPeer("warmup", 0, "02:00:00:00:00:00"), master=0, mtu=1500,
                 ipv4_gso_max=1)
    enc.add_address(0, socket.AF_INET, bytes(4), 0)
    enc.add_default_route(socket.AF_INET, bytes(4), 0)
    enc.set_link(0, up=True)
    ack = p2.nlmsgerr()
    _check(encode(ack, p2.NLMSG_ERROR, 0, 0))
