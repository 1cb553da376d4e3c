"""Removing a bridge's iptables rules (netdriver/firewall.py): by the exact rules it was given,
and, when some of them are already gone, by their tag. Either way none is left behind."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from netdriver import firewall


@pytest.fixture
def bridge() -> Iterator[str]:
    name = f"pcbrfw{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        yield name
    finally:
        firewall.remove_network_rules(name)
        subprocess.run(["ip", "link", "del", name], check=False)


def _tagged_rules(bridge: str) -> list[str]:
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in saved.splitlines() if firewall.network_tag(bridge) in line]


@pytest.mark.parametrize("internal", [False, True])
def test_exact_removal_leaves_no_rule(bridge: str, internal: bool) -> None:
    firewall.ensure_network_rules(bridge, "10.251.7.0/24", internal, gateway="10.251.7.1")
    installed = firewall.network_rules(bridge, "10.251.7.0/24", internal, "10.251.7.1")
    assert len(_tagged_rules(bridge)) == sum(len(lines) for lines in installed.values())
    firewall.remove_network_rules(bridge, installed)
    assert _tagged_rules(bridge) == []


def test_removal_falls_back_to_the_tag_when_a_rule_is_gone(bridge: str) -> None:
    firewall.ensure_network_rules(bridge, "10.251.8.0/24", False, gateway="10.251.8.1")
    installed = firewall.network_rules(bridge, "10.251.8.0/24", False, "10.251.8.1")
    first = installed["filter"][0]
    subprocess.run(["iptables", "-D", *first.split()[1:]], check=True)  # someone deleted one
    firewall.remove_network_rules(bridge, installed)
    assert _tagged_rules(bridge) == []
