"""Deterministic interface names: prefix, length, stability, distinctness."""

from __future__ import annotations

import pytest

from netdriver import names


def test_bridge_name_shape_and_determinism() -> None:
    a = names.bridge_name("a" * 64)
    assert a.startswith("pcbr") and len(a) == 15
    assert a == names.bridge_name("a" * 64)
    assert a != names.bridge_name("b" * 64)
    assert all(c in "0123456789abcdef" for c in a[4:])


def test_host_veth_name_shape_and_determinism() -> None:
    v = names.host_veth_name("n" * 64, "container1")
    assert v.startswith("pcv") and len(v) == 15
    assert v == names.host_veth_name("n" * 64, "container1")


def test_host_veth_names_differ_per_network_and_endpoint() -> None:
    seen = {
        names.host_veth_name(net, ep)
        for net in ("net1", "net2", "net3")
        for ep in ("ep1", "ep2", "ep3")
    }
    assert len(seen) == 9
    # the separator keeps concatenations apart
    assert names.host_veth_name("ab", "c") != names.host_veth_name("a", "bc")


def test_no_collisions_in_a_large_sample() -> None:
    sample = {names.host_veth_name("net", f"ep{i}") for i in range(20000)}
    assert len(sample) == 20000


def test_bridge_and_veth_never_share_a_name() -> None:
    assert names.bridge_name("x") != names.host_veth_name("x", "x")


@pytest.mark.parametrize("bad", [("", "ep"), ("net", "")])
def test_empty_ids_rejected(bad: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        names.host_veth_name(*bad)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("eth0", True), ("net1", True), ("a" * 15, True), ("a" * 16, False), ("", False),
     ("eth 0", False), ("eth/0", False), (".", False), ("..", False)],
)
def test_is_valid_ifname(name: str, ok: bool) -> None:
    assert names.is_valid_ifname(name) is ok
