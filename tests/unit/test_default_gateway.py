"""The network a container's default route goes through: Docker's pick, not eth0."""

from __future__ import annotations

from pathlib import Path

from compose.container_spec import build_container_spec
from compose.loader import load_project
from compose.model import LoadOptions
from engine.default_gateway import gateway_index
from engine.runtime_spec import NetworkRequest


def _index(*requests: NetworkRequest, internal: frozenset[str] = frozenset()) -> int | None:
    return gateway_index(requests, lambda name: name in internal)


def test_the_name_that_sorts_first_routes_not_eth0() -> None:
    assert _index(NetworkRequest("p_front"), NetworkRequest("p_back")) == 1
    assert _index(NetworkRequest("p_back"), NetworkRequest("p_front")) == 0


def test_an_internal_network_never_routes() -> None:
    internal = frozenset({"p_a"})
    assert _index(NetworkRequest("p_a"), NetworkRequest("p_z"), internal=internal) == 1
    assert _index(NetworkRequest("p_a"), internal=internal) is None
    assert _index() is None


def test_the_highest_gw_priority_routes() -> None:
    assert _index(NetworkRequest("p_a"), NetworkRequest("p_z", gw_priority=1)) == 1
    assert _index(NetworkRequest("p_a", gw_priority=-1), NetworkRequest("p_z")) == 1
    internal = frozenset({"p_z"})
    assert _index(NetworkRequest("p_a"), NetworkRequest("p_z", gw_priority=9),
                  internal=internal) == 0


def test_gw_priority_reaches_the_container_spec(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    networks:\n"
        "      a:\n      z: {gw_priority: '2'}\nnetworks: {a: {}, z: {}}\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="p"))
    assert project.raw["services"]["app"]["networks"]["z"] == {"gw_priority": 2}
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    assert [(n.network, n.gw_priority) for n in spec.networks] == [("p_a", 0), ("p_z", 2)]
