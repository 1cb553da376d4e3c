"""The container side of networking: the rtnetlink requests an attach sends (netdriver.rtnl,
packed with struct), decoded back from the wire bytes field by field with pyroute2's message
classes, and the promise that starting a container or the DNS resolver loads nothing of
pyroute2. No root, no kernel (the kernel's view is tested in
tests/integration/test_netdriver.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from netdriver import pyroute2_messages as p2
from netdriver import rtnl
from netdriver.pyroute2_messages import ifinfmsg, rtmsg


class Recording(rtnl.Rtnl):
    """An Rtnl that records requests as their wire bytes instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, bytes]] = []

    def request(self, kind: int, flags: int, msg: Any) -> None:
        self.sent.append((kind, flags, rtnl.encode(msg, kind, flags, 1)))


def _decoded(cls: Any, raw: bytes) -> Any:
    msg = cls(raw)
    msg.decode()
    return msg


def test_veth_request_puts_the_peer_in_the_namespace_with_name_mac_and_mtu() -> None:
    nl = Recording()
    nl.new_veth("pcv1234", rtnl.VethPeer("eth0", 7, "02:42:ac:11:00:05"), master=42, mtu=1400)
    [(kind, flags, raw)] = nl.sent
    assert kind == p2.RTM_NEWLINK
    assert flags & p2.NLM_F_CREATE and flags & p2.NLM_F_EXCL  # never reuses a stale link
    host = _decoded(ifinfmsg, raw)
    assert (host["index"], host["flags"] & rtnl.IFF_UP, host["change"] & rtnl.IFF_UP) == (
        0, rtnl.IFF_UP, rtnl.IFF_UP
    )
    assert host.get_attr("IFLA_IFNAME") == "pcv1234"
    assert host.get_attr("IFLA_MASTER") == 42
    assert host.get_attr("IFLA_MTU") == 1400
    assert host.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") == "veth"
    peer = host.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "eth0"
    assert peer.get_attr("IFLA_NET_NS_FD") == 7
    assert peer.get_attr("IFLA_ADDRESS") == "02:42:ac:11:00:05"
    assert peer.get_attr("IFLA_MTU") == 1400


def test_veth_without_mtu_leaves_the_kernel_default() -> None:
    nl = Recording()
    nl.new_veth("pcv1", rtnl.VethPeer("eth0", 3, "02:42:00:00:00:01"), master=1, mtu=None)
    host = _decoded(ifinfmsg, nl.sent[0][2])
    peer = host.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")
    assert host.get_attr("IFLA_MTU") is None
    assert peer.get_attr("IFLA_MTU") is None
    assert peer.get_attr("IFLA_IFNAME") == "eth0"  # the peer itself is still there


def test_default_routes_go_via_the_gateway_on_the_link_in_the_main_table() -> None:
    nl = Recording()
    nl.add_default_route(socket.AF_INET, IPv4Address("172.30.0.1").packed, 9)
    nl.add_default_route(socket.AF_INET6, IPv6Address("fd00::1").packed, 9)
    for (kind, _flags, raw), family, gateway in zip(
        nl.sent, (socket.AF_INET, socket.AF_INET6), ("172.30.0.1", "fd00::1"), strict=True,
    ):
        assert kind == p2.RTM_NEWROUTE
        route = _decoded(rtmsg, raw)
        # 0/0: the default
        assert (route["family"], route["dst_len"], route["table"]) == (
            family, 0, rtnl.RT_TABLE_MAIN
        )
        assert (route["proto"], route["scope"], route["type"]) == (
            rtnl.RTPROT_BOOT, rtnl.RT_SCOPE_UNIVERSE, rtnl.RTN_UNICAST
        )
        assert route.get_attr("RTA_GATEWAY") == gateway
        assert route.get_attr("RTA_OIF") == 9
        assert route.get_attr("RTA_DST") is None


START_PROBE = """
import json, sys
import engine.supervisor, engine.supervisor_zygote
engine.supervisor_zygote._preload_netlink()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pyroute2")))
"""
RESOLVER_PROBE = """
import json, sys
import engine.dns_server
print(json.dumps(sorted(m for m in sys.modules if m.startswith("netdriver."))))
"""


def _run(probe: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _loaded(probe: str) -> list[str]:
    names: list[str] = _run(probe)
    return names


def test_a_supervisor_with_netlink_warmed_up_loads_nothing_of_pyroute2() -> None:
    """The requests an attach sends are packed with struct (the tests above decode them with
    pyroute2's classes, byte for byte the kernel's format): a container start, run in a freshly
    forked process where every touched page is a copy-on-write fault, must not pay pyroute2's
    generic encoder (~1.6 ms and ~260 faults per attach) nor its imports."""
    assert _loaded(START_PROBE) == []


def test_the_resolver_loads_only_the_state_reading_part_of_the_driver() -> None:
    """The resolver must answer soon after it starts: the driver's firewall, netlink and
    address-management code are not its business."""
    loaded = set(_loaded(RESOLVER_PROBE))
    assert {"netdriver.snapshot", "netdriver.state"} <= loaded
    assert not loaded & {"netdriver.api", "netdriver.firewall", "netdriver.netlink",
                         "netdriver.ipam", "netdriver.host_links"}
