"""Host-port reservation: the kernel's bind is the allocator (real sockets on loopback)."""

from __future__ import annotations

import socket

import pytest

from engine.errors import InvalidArgumentError
from engine.hosts import parse_extra_hosts, render_resolv_conf
from engine.ports import PortAllocatedError, PortReservations, PortSpec, PublishedPort


def test_random_port_is_a_real_reserved_port() -> None:
    res = PortReservations()
    try:
        [got] = res.reserve([PortSpec(80, None, "127.0.0.1")], "service web")
        assert got.host_port > 0 and got.target == 80 and got.protocol == "tcp"
        probe = socket.socket()
        with pytest.raises(OSError):
            probe.bind(("127.0.0.1", got.host_port))
        probe.close()
    finally:
        res.close()


def test_taken_port_fails_naming_service_and_port_and_keeps_nothing() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    res = PortReservations()
    try:
        with pytest.raises(PortAllocatedError, match=rf"service web.*{taken}"):
            res.reserve(
                [PortSpec(81, None, "127.0.0.1"), PortSpec(80, str(taken), "127.0.0.1")],
                "service web",
            )
        assert res.published == []
    finally:
        holder.close()
        res.close()


def test_a_range_takes_the_first_free_port() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    res = PortReservations()
    try:
        [got] = res.reserve([PortSpec(80, f"{taken}-{taken + 1}", "127.0.0.1")], "s")
        assert got.host_port == taken + 1
    except PortAllocatedError:
        pytest.skip("the next port happens to be busy on this host")
    finally:
        holder.close()
        res.close()


def test_udp_and_tcp_of_one_port_are_distinct() -> None:
    res = PortReservations()
    try:
        [tcp] = res.reserve([PortSpec(53, None, "127.0.0.1", "tcp")], "s")
        [_, udp] = res.reserve([PortSpec(53, str(tcp.host_port), "127.0.0.1", "udp")], "s")
        assert udp.host_port == tcp.host_port and udp.protocol == "udp"
    finally:
        res.close()


@pytest.mark.parametrize("spec", [PortSpec(80, "x"), PortSpec(0), PortSpec(80, None, None, "sctp")])
def test_bad_port_specs_are_typed_errors(spec: PortSpec) -> None:
    with pytest.raises(InvalidArgumentError):
        PortReservations().reserve([spec], "service web")


def test_docker_text() -> None:
    assert PublishedPort("0.0.0.0", 8080, 80, "tcp").docker_text() == "0.0.0.0:8080->80/tcp"


def test_extra_hosts_and_host_gateway() -> None:
    lines = parse_extra_hosts(["db:10.0.0.5", "gw=host-gateway", "v6:::1"], "172.20.0.1", "s")
    assert lines == ["10.0.0.5\tdb", "172.20.0.1\tgw", "::1\tv6"]
    with pytest.raises(InvalidArgumentError, match="extra_hosts"):
        parse_extra_hosts(["nope"], "172.20.0.1", "s")


def test_resolv_conf_uses_service_options_else_host_ones() -> None:
    host = "nameserver 10.0.0.1\nsearch lan\noptions edns0\n"
    assert render_resolv_conf(host, ["172.20.0.1"]) == (
        "nameserver 172.20.0.1\nsearch lan\noptions edns0\n"
    )
    assert render_resolv_conf(host, ["172.20.0.1"], ["a.b"], ["ndots:2"]) == (
        "nameserver 172.20.0.1\nsearch a.b\noptions ndots:2\n"
    )


def test_an_ipv6_host_address_is_refused_by_name_not_as_a_taken_port() -> None:
    res = PortReservations()
    with pytest.raises(InvalidArgumentError, match=r"IPv6 address ::1 is not supported"):
        res.reserve([PortSpec(80, "18091", "::1")], "service web")
    assert res.published == []
