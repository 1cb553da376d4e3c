"""The veth request carries IPv4 and IPv6 BIG TCP sizes for both ends (netdriver/offload.py); the
kernel-side effect is checked in tests/integration/test_netdriver_offload.py. No root."""

from __future__ import annotations

from typing import Any

from netdriver import rtnl
from netdriver.offload import BIG_TCP_IPV4_SIZE
from netdriver.pyroute2_messages import ifinfmsg

SIZES = ("IFLA_GSO_IPV4_MAX_SIZE", "IFLA_GRO_IPV4_MAX_SIZE", "IFLA_GSO_MAX_SIZE",
         "IFLA_GRO_MAX_SIZE")


class Recording(rtnl.Rtnl):
    """An Rtnl that records requests as their wire bytes instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, bytes]] = []

    def request(self, kind: int, flags: int, msg: Any) -> None:
        self.sent.append((kind, flags, rtnl.encode(msg, kind, flags, 1)))


def _ends(raw: bytes) -> tuple[Any, Any]:
    host = ifinfmsg(raw)
    host.decode()
    return host, host.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")


def test_both_ends_of_the_veth_get_the_ipv4_gso_and_gro_sizes() -> None:
    nl = Recording()
    nl.new_veth("pcv1", rtnl.VethPeer("eth0", 3, "02:42:00:00:00:01"), master=1, mtu=None,
                ipv4_gso_max=BIG_TCP_IPV4_SIZE)
    raw = nl.sent[0][2]
    for end in _ends(raw):
        for name in SIZES:
            assert end.get_attr(name) == BIG_TCP_IPV4_SIZE
    # the kernel's attribute numbers (Linux 6.3+), whatever pyroute2 calls them
    size = BIG_TCP_IPV4_SIZE.to_bytes(4, "little")
    for number in (63, 64, 41, 58):  # IPv4 BIG TCP; the generic sizes IPv6 BIG TCP uses
        assert raw.count((8).to_bytes(2, "little") + number.to_bytes(2, "little") + size) == 2


def test_without_a_size_the_kernel_defaults_stay() -> None:
    nl = Recording()
    nl.new_veth("pcv1", rtnl.VethPeer("eth0", 3, "02:42:00:00:00:01"), master=1, mtu=1400)
    for end in _ends(nl.sent[0][2]):
        for name in SIZES:
            assert end.get_attr(name) is None
