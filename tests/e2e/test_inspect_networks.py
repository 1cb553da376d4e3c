"""`container inspect` of a stack's container: NetworkSettings.Networks says what the
container really has on each network (address, prefix, MAC, gateway) and the names docker
compose gives it, as Docker's EndpointSettings do."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

STACK = """
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks:
      default:
      back:
        aliases: [api]
networks:
  back:
    internal: true
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "insn")


def _networks(project: Project) -> dict[str, dict[str, object]]:
    out = project.cli("container", "inspect", "-f", "{{json .NetworkSettings.Networks}}",
                      f"{project.name}-web-1")
    return json.loads(out)  # type: ignore[no-any-return]


def test_inspect_networks_match_the_container_s_interfaces(project: Project) -> None:
    project.write(STACK)
    project.cli("up", "-d")
    networks = _networks(project)
    default, back = networks[f"{project.name}_default"], networks[f"{project.name}_back"]
    inside = project.cli("exec", "-T", "web", "sh", "-c",
                         "ip -o -4 addr show eth0; cat /sys/class/net/eth0/address;"
                         " ip -o -4 addr show eth1; cat /sys/class/net/eth1/address;"
                         " ip route | grep ^default; hostname")
    back_line, back_mac, default_line, default_mac, route, hostname = inside.strip().split("\n")
    # equal priorities: eth0 is `back`, whose name sorts first (compose-go's order)
    assert f"inet {back['IPAddress']}/{back['IPPrefixLen']}" in back_line
    assert back["MacAddress"] == back_mac
    assert f"inet {default['IPAddress']}/{default['IPPrefixLen']}" in default_line
    assert default["MacAddress"] == default_mac
    # the internal eth0 leaves the way out to the other network, as Docker's gateway pick
    assert route.startswith(f"default via {default['Gateway']} dev eth1")
    assert back["Gateway"] == ""  # internal: no route out
    name = f"{project.name}-web-1"
    assert default["Aliases"] == [name, "web"]
    assert back["Aliases"] == [name, "web", "api"]
    assert back["DNSNames"] == [name, "web", "api", hostname]  # hostname: the short id
    assert default["NetworkID"] != back["NetworkID"]
    assert len(str(default["EndpointID"])) == 64
    key = project.cli("container", "inspect", "-f", "{{.NetworkSettings.SandboxKey}}",
                      name).strip()
    inside_ns = project.cli("exec", "-T", "web", "readlink", "/proc/self/ns/net").strip()
    assert os.readlink(key) == inside_ns  # what `nsenter --net=` would enter
    mode = project.cli("container", "inspect", "-f", "{{.HostConfig.NetworkMode}}", name)
    assert mode.strip() == f"{project.name}_back"  # docker compose names the primary there
    files = json.loads(project.cli(
        "container", "inspect", "-f",
        '{"hosts":{{json .HostsPath}},"resolv":{{json .ResolvConfPath}},'
        '"hostname":{{json .HostnamePath}},"log":{{json .LogPath}}}', name,
    ))
    for key, inside_path in (("hosts", "/etc/hosts"), ("resolv", "/etc/resolv.conf")):
        with open(files[key]) as host_side:
            assert host_side.read() == project.cli("exec", "-T", "web", "cat", inside_path)
    with open(files["hostname"]) as host_side:
        assert host_side.read().strip() == hostname
    assert os.path.isfile(files["log"])
    project.cli("stop", "-t", "0")
    stopped = _networks(project)[f"{project.name}_default"]
    assert (stopped["IPAddress"], stopped["EndpointID"]) == ("", "")
    assert stopped["NetworkID"] == default["NetworkID"]
