"""`up` refuses to reuse a network whose recorded configuration is not what the file asks."""

from __future__ import annotations

from compose.model import NetworkDef
from compose.network_options import differences
from netdriver.api import Network


def _existing(**changes: object) -> Network:
    values: dict[str, object] = dict(
        id="x" * 64, name="p_back", bridge="pcbrx", subnet="10.99.8.0/24",
        gateway="10.99.8.1", internal=False,
    )
    values.update(changes)
    return Network(**values)  # type: ignore[arg-type]


def test_what_the_file_leaves_open_never_differs() -> None:
    assert differences(NetworkDef("back", "p_back"), _existing()) == []


def test_the_same_subnet_written_differently_is_the_same() -> None:
    asked = NetworkDef("back", "p_back", subnets=("10.99.8.7/24",), gateway="10.99.8.1")
    assert differences(asked, _existing()) == []


def test_each_change_the_file_asks_for_is_named() -> None:
    asked = NetworkDef(
        "back", "p_back", subnets=("10.99.9.0/24",), internal=True, enable_ipv6=True, mtu=1400
    )
    found = differences(asked, _existing())
    assert [f.split()[0] for f in found] == ["subnet", "internal:", "enable_ipv6:", "mtu"]
    assert "subnet 10.99.8.0/24 (the file asks 10.99.9.0/24)" in found
