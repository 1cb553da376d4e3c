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
    named = {N("10.1.0.0/16"): "a_front", N("172.17.0.0/16"): "b_back"}
    clash = r"network b_back's subnet 172\.17\.0\.0/16"
    with pytest.raises(InvalidNetworkConfigError, match=clash):
        ipam.plan_network("172.17.1.0/24", None, list(named), [], named)


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


def test_allocate_takes_taken_addresses_as_integers_too() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    taken: list[A | int] = [int(A("10.1.0.2")), A("10.1.0.3"), int(A("10.1.0.5"))]
    assert ipam.allocate_address(net, gw, taken) == A("10.1.0.4")
    with pytest.raises(AddressInUseError):
        ipam.allocate_address(net, gw, taken, "10.1.0.5")


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


# ---- ip_range, aux_addresses (ipam.config)


def test_dynamic_addresses_only_from_ip_range() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    rng = ipam.parse_ip_range("10.1.0.128/30", net)
    assert ipam.allocate_address(net, gw, [], ip_range=rng) == A("10.1.0.128")
    taken = [A("10.1.0.128"), A("10.1.0.129"), A("10.1.0.130"), A("10.1.0.131")]
    with pytest.raises(AddressPoolExhaustedError, match=r"ip_range 10\.1\.0\.128/30"):
        ipam.allocate_address(net, gw, taken, ip_range=rng)


def test_ip_range_at_the_subnet_start_skips_network_address_and_gateway() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    assert ipam.allocate_address(net, gw, [], ip_range=N("10.1.0.0/28")) == A("10.1.0.2")


def test_static_address_may_lie_outside_ip_range() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    got = ipam.allocate_address(net, gw, [], "10.1.0.5", ip_range=N("10.1.0.128/25"))
    assert got == A("10.1.0.5")


def test_aux_addresses_are_never_handed_out() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    held = [A("10.1.0.2"), A("10.1.0.3")]
    assert ipam.allocate_address(net, gw, [], reserved=held) == A("10.1.0.4")
    with pytest.raises(AddressInUseError, match="reserved"):
        ipam.allocate_address(net, gw, [], "10.1.0.3", reserved=held)


@pytest.mark.parametrize(
    ("text", "message"),
    [("10.2.0.0/24", "not inside subnet"), ("10.1.0.1/28", "invalid ip_range"),
     ("junk", "invalid ip_range"), ("10.0.0.0/8", "not inside subnet")],
)
def test_ip_range_must_lie_inside_the_subnet(text: str, message: str) -> None:
    with pytest.raises(InvalidNetworkConfigError, match=message):
        ipam.parse_ip_range(text, N("10.1.0.0/24"))


def test_aux_addresses_parsed_and_checked() -> None:
    net, gw = N("10.1.0.0/24"), A("10.1.0.1")
    assert ipam.parse_aux_addresses({"host1": "10.1.0.9"}, net, gw) == {"host1": A("10.1.0.9")}
    for bad, message in (({"a": "10.9.0.1"}, "a: 10.9.0.1 is not a usable"),
                         ({"b": "10.1.0.255"}, "not a usable"),
                         ({"c": "10.1.0.1"}, "is the gateway"),
                         ({"d": "nope"}, "invalid aux_addresses d address")):
        with pytest.raises(InvalidNetworkConfigError, match=message):
            ipam.parse_aux_addresses(bad, net, gw)


# ---- IPv6


def test_ipv6_plan_defaults_gateway_to_first_address() -> None:
    net, gw = ipam.plan_network6("fd00:1::/64", None, [])
    assert str(net) == "fd00:1::/64" and str(gw) == "fd00:1::1"
    assert str(ipam.plan_network6("fd00:1::/64", "fd00:1::fe", [])[1]) == "fd00:1::fe"


@pytest.mark.parametrize(
    ("subnet", "gateway", "message"),
    [("fd00:1::1/64", None, "invalid IPv6 subnet"), ("10.0.0.0/24", None, "invalid IPv6"),
     ("fd00:1::/127", None, "too small"), ("fd00:1::/64", "fd00:2::1", "not a usable"),
     ("fd00:2::/64", None, "overlaps")],
)
def test_ipv6_plan_rejects_bad_input(subnet: str, gateway: str | None, message: str) -> None:
    from ipaddress import IPv6Network

    with pytest.raises(InvalidNetworkConfigError, match=message):
        ipam.plan_network6(subnet, gateway, [IPv6Network("fd00:2::/48")])


def test_ipv6_allocation_lowest_free_and_static() -> None:
    from ipaddress import IPv6Address, IPv6Network

    net, gw = IPv6Network("fd00:1::/64"), IPv6Address("fd00:1::1")
    assert str(ipam.allocate_address6(net, gw, [])) == "fd00:1::2"
    assert str(ipam.allocate_address6(net, gw, [IPv6Address("fd00:1::2")])) == "fd00:1::3"
    assert str(ipam.allocate_address6(net, gw, [], "fd00:1::abc")) == "fd00:1::abc"
    with pytest.raises(AddressInUseError):
        ipam.allocate_address6(net, gw, [], "fd00:1::1")
    with pytest.raises(InvalidNetworkConfigError):
        ipam.allocate_address6(net, gw, [], "fd00:9::5")
