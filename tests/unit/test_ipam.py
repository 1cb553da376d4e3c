"""IPAM rules: pools, overlap avoidance, explicit subnets, allocation, MACs."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from netdriver import ipam
from netdriver.errors import (
    AddressInUseError,
    AddressPoolExhaustedError,
    InvalidNetworkConfigError,
)

N = IPv4Network
A = IPv4Address


def test_candidates_follow_docker_default_pools() -> None:
    subnets = list(ipam.candidate_subnets())
    assert subnets[0] == N("172.17.0.0/16")
    assert subnets[14] == N("172.31.0.0/16")
    assert subnets[15] == N("192.168.0.0/20")
    assert subnets[-1] == N("192.168.240.0/20")
    assert len(subnets) == 15 + 16


def test_choose_first_free() -> None:
    assert ipam.choose_subnet([], []) == N("172.17.0.0/16")


def test_choose_skips_used_networks() -> None:
    used = [N("172.17.0.0/16"), N("172.18.0.0/16")]
    assert ipam.choose_subnet(used, []) == N("172.19.0.0/16")


def test_choose_skips_overlapping_host_routes_and_addresses() -> None:
    host = [N("172.17.5.0/24"), N("172.18.0.0/15")]
    assert ipam.choose_subnet([], host) == N("172.20.0.0/16")


def test_choose_ignores_default_route() -> None:
    assert ipam.choose_subnet([], [N("0.0.0.0/0")]) == N("172.17.0.0/16")


def test_choose_host_route_covering_all_172_moves_to_192_168() -> None:
    host = [N("172.16.0.0/12"), N("192.168.0.0/24")]
    assert ipam.choose_subnet([], host) == N("192.168.16.0/20")


def test_choose_exhausted() -> None:
    with pytest.raises(AddressPoolExhaustedError):
        ipam.choose_subnet([N("172.16.0.0/12")], [N("192.168.0.0/16")])


def test_plan_default_gateway_is_first_host() -> None:
    assert ipam.plan_network(None, None, [], []) == (N("172.17.0.0/16"), A("172.17.0.1"))


def test_plan_explicit_subnet_and_gateway() -> None:
    net, gw = ipam.plan_network("10.20.0.0/24", "10.20.0.254", [], [])
    assert (net, gw) == (N("10.20.0.0/24"), A("10.20.0.254"))


def test_plan_explicit_subnet_may_overlap_host_but_not_our_networks() -> None:
    assert ipam.plan_network("10.0.0.0/24", None, [], [N("10.0.0.0/8")])[0] == N("10.0.0.0/24")
    with pytest.raises(InvalidNetworkConfigError, match="overlaps"):
        ipam.plan_network("172.17.1.0/24", None, [N("172.17.0.0/16")], [])


@pytest.mark.parametrize(
    ("subnet", "gateway"),
    [
        ("10.0.0.1/24", None),  # host bits set
        ("10.0.0.0/31", None),  # too small
        ("not-a-subnet", None),
        ("fd00::/64", None),  # IPv6 not supported yet
        ("10.0.0.0/24", "10.0.1.1"),  # gateway outside
        ("10.0.0.0/24", "10.0.0.0"),  # network address
        ("10.0.0.0/24", "10.0.0.255"),  # broadcast
        ("10.0.0.0/24", "bogus"),
        (None, "10.0.0.1"),  # gateway without subnet
    ],
)
def test_plan_rejects_bad_input(subnet: str | None, gateway: str | None) -> None:
    with pytest.raises(InvalidNetworkConfigError):
        ipam.plan_network(subnet, gateway, [], [])


def test_allocate_lowest_free_skipping_gateway() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    assert ipam.allocate_address(net, gw, []) == A("10.1.0.2")
    assert ipam.allocate_address(net, gw, [A("10.1.0.2"), A("10.1.0.4")]) == A("10.1.0.3")


def test_allocate_reuses_released_address() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    taken = [A("10.1.0.3")]  # .2 was released
    assert ipam.allocate_address(net, gw, taken) == A("10.1.0.2")


def test_allocate_gateway_not_first() -> None:
    net, gw = N("10.1.0.0/29"), A("10.1.0.6")
    assert ipam.allocate_address(net, gw, []) == A("10.1.0.1")


def test_allocate_static() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    assert ipam.allocate_address(net, gw, [A("10.1.0.2")], "10.1.0.50") == A("10.1.0.50")


@pytest.mark.parametrize(
    ("requested", "error"),
    [
        ("10.1.0.2", AddressInUseError),
        ("10.1.0.1", AddressInUseError),
        ("10.2.0.5", InvalidNetworkConfigError),
        ("10.1.0.0", InvalidNetworkConfigError),
        ("10.1.0.255", InvalidNetworkConfigError),
        ("junk", InvalidNetworkConfigError),
    ],
)
def test_allocate_static_rejected(requested: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        ipam.allocate_address(N("10.1.0.0/24"), A("10.1.0.1"), [A("10.1.0.2")], requested)


def test_allocate_exhausted() -> None:
    net, gw = N("10.1.0.0/30"), A("10.1.0.1")
    with pytest.raises(AddressPoolExhaustedError):
        ipam.allocate_address(net, gw, [A("10.1.0.2")])


def test_mac_like_docker() -> None:
    assert ipam.mac_for(A("172.18.0.2")) == "02:42:ac:12:00:02"
    assert ipam.mac_for(A("192.168.255.10")) == "02:42:c0:a8:ff:0a"
