"""`ps` lists a running container's exposed ports as docker compose does: published ones with
their bindings, ports only exposed (image EXPOSE, `expose:`) as `80/tcp` and as publishers with
no URL and port 0; a stopped container has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.cli.ps_listing import row
from compose.container_spec import exposed_ports
from engine.api import ContainerInfo
from engine.containers import ContainerRecord, ContainerSpec, ContainerState, ContainerStatus
from engine.ports import PortSpec, PublishedPort


@pytest.mark.parametrize(("entries", "expected"), [
    (["80"], ("80/tcp",)),
    (["53/UDP", "8000-8002"], ("53/udp", "8000/tcp", "8001/tcp", "8002/tcp")),
    (["80", 80], ("80/tcp",)),
    (None, ()),
])
def test_expose_entries_become_docker_s_exposed_ports(
    entries: object, expected: tuple[str, ...]
) -> None:
    assert exposed_ports(entries) == expected


def _info(status: ContainerStatus, **spec: object) -> ContainerInfo:
    made = (PublishedPort("0.0.0.0", 8080, 80, "tcp"),) if status is ContainerStatus.RUNNING else ()
    record = ContainerRecord("0" * 64, "p-web-1", "2024-01-01T00:00:00Z", "sha256:0",
                             ContainerSpec(name="p-web-1", image="busybox",
                                           ports=(PortSpec(80, "8080"),), **spec))  # type: ignore[arg-type]
    state = ContainerState(status=status, ports=made, started_at="2024-01-01T00:00:00Z",
                           finished_at="2024-01-01T00:00:01Z")
    return ContainerInfo(record, state, Path("/nonexistent"))


EXPOSED = ("443/tcp", "80/tcp", "9000/tcp", "9001/tcp")  # image's, then `expose`, `ports`


def test_a_running_container_lists_exposed_ports_beside_published_ones() -> None:
    listed = row(_info(ContainerStatus.RUNNING), exposed=EXPOSED)
    assert listed["Ports"] == "443/tcp, 9000-9001/tcp, 0.0.0.0:8080->80/tcp"
    assert listed["Publishers"] == [
        {"URL": "0.0.0.0", "TargetPort": 80, "PublishedPort": 8080, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 443, "PublishedPort": 0, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 9000, "PublishedPort": 0, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 9001, "PublishedPort": 0, "Protocol": "tcp"},
    ]


def test_stopped_or_host_network_containers_list_no_ports() -> None:
    assert row(_info(ContainerStatus.EXITED), exposed=EXPOSED)["Publishers"] == []
    host = row(_info(ContainerStatus.RUNNING, network_mode="host"), exposed=EXPOSED)
    assert (host["Ports"], host["Publishers"]) == ("", [])
