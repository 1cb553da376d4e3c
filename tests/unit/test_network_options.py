"""Top-level network options: ipam.config extras, enable_ipv6, driver_opts, service addresses.

Bad values are load errors naming file, line and key; good ones reach the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.network_options import ipam_entry


def _load(tmp_path: Path, text: str) -> Project:
    (tmp_path / "compose.yaml").write_text(text)
    return load_project(LoadOptions(cwd=tmp_path, project_name="t"))


def _problems(tmp_path: Path, text: str) -> dict[str | None, tuple[int | None, str]]:
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, text)
    return {p.key: (p.line, p.message) for p in info.value.problems}


GOOD = """services:
  web:
    image: busybox
    links: ["db:database", "db"]
    networks:
      front:
        ipv4_address: 10.30.0.200
        ipv6_address: fd00:30::20
  db:
    image: busybox
    networks: [front]
networks:
  front:
    enable_ipv6: true
    attachable: true
    driver_opts:
      com.docker.network.driver.mtu: 1400
      com.docker.network.bridge.name: br-front
    ipam:
      config:
        - subnet: fd00:30::/64
          gateway: fd00:30::1
        - subnet: 10.30.0.0/24
          ip_range: 10.30.0.128/25
          gateway: 10.30.0.1
          aux_addresses:
            router: 10.30.0.2
"""


def test_good_options_reach_the_model(tmp_path: Path) -> None:
    project = _load(tmp_path, GOOD)
    front = project.networks["front"]
    assert (front.gateway, front.ip_range, front.aux_addresses) == (
        "10.30.0.1", "10.30.0.128/25", {"router": "10.30.0.2"}
    )
    assert (front.enable_ipv6, front.ipv6_subnet, front.ipv6_gateway) == (
        True, "fd00:30::/64", "fd00:30::1"
    )
    assert (front.mtu, front.bridge_name, front.attachable) == (1400, "br-front", True)
    attachment = project.services["web"].networks[0]
    assert (attachment.ipv4_address, attachment.ipv6_address) == ("10.30.0.200", "fd00:30::20")


def test_ipv6_entry_ignored_without_enable_ipv6(tmp_path: Path) -> None:
    project = _load(tmp_path, GOOD.replace("enable_ipv6: true", "enable_ipv6: false"))
    assert project.networks["front"].ipv6_subnet is None


def test_bad_addresses_and_options_are_reported_with_key_and_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """services:
  web:
    image: busybox
    networks:
      front:
        ipv4_address: 10.99.0.5
networks:
  front:
    driver_opts:
      com.docker.network.driver.mtu: huge
      com.docker.network.bridge.name: a-bridge-name-far-too-long
    ipam:
      config:
        - subnet: 10.30.0.0/24
          ip_range: 10.31.0.0/24
          gateway: 10.40.0.1
          aux_addresses:
            router: 10.30.1.2
        - subnet: 10.50.0.1/24
""")
    base = "networks.front"
    assert problems[f"{base}.ipam.config[0].ip_range"] == (
        15, "network front: ip_range 10.31.0.0/24 is not inside subnet 10.30.0.0/24")
    assert problems[f"{base}.ipam.config[0].gateway"][0] == 16
    assert "gateway 10.40.0.1 is not inside" in problems[f"{base}.ipam.config[0].gateway"][1]
    assert "aux_addresses router 10.30.1.2" in problems[
        f"{base}.ipam.config[0].aux_addresses.router"][1]
    assert "invalid subnet '10.50.0.1/24'" in problems[f"{base}.ipam.config[1].subnet"][1]
    assert "between 68 and 65535" in problems[
        f"{base}.driver_opts.com.docker.network.driver.mtu"][1]
    assert "not a valid interface name" in problems[
        f"{base}.driver_opts.com.docker.network.bridge.name"][1]
    key = "services.web.networks.front.ipv4_address"
    assert problems[key] == (6, "network front (service web): ipv4_address 10.99.0.5 is not "
                                "inside subnet 10.30.0.0/24")


def test_ipam_entry_picks_the_family() -> None:
    spec = {"ipam": {"config": [{"subnet": "fd00::/64"}, {"subnet": "10.0.0.0/24"}]}}
    assert ipam_entry(spec, ipv6=False) == {"subnet": "10.0.0.0/24"}
    assert ipam_entry(spec, ipv6=True) == {"subnet": "fd00::/64"}
    assert ipam_entry({}, ipv6=True) == {}


def test_static_addresses_need_a_user_configured_subnet_of_their_family(tmp_path: Path) -> None:
    from compose.static_addresses import static_address_problems

    project = _load(tmp_path, """services:
  a:
    image: busybox
    networks:
      v4only: {ipv4_address: 10.40.0.5, ipv6_address: "fd00:40::5"}
      pooled: {ipv4_address: 10.41.0.5}
      outside: {ipv4_address: 10.42.0.5}
  b:
    image: busybox
    networks:
      v4only: {ipv4_address: 10.40.0.6}
networks:
  v4only:
    ipam:
      config: [{subnet: 10.40.0.0/24}]
  pooled: {}
  outside: {external: true}
""")
    problems = static_address_problems(project, ["a", "b"])
    assert len(problems) == 2, problems
    assert problems[0].startswith("service a: ipv6_address fd00:40::5 on network v4only ")
    assert "(services.a.networks.v4only.ipv6_address)" in problems[0]
    assert problems[1].startswith("service a: ipv4_address 10.41.0.5 on network pooled ")
    assert static_address_problems(project, ["b"]) == []


def test_a_static_address_that_is_no_address_is_said_so(tmp_path: Path) -> None:
    """Docker's create checks the address first ("invalid IPv4 address"): the subnet is not
    what is wrong with `300.1.1.1` or an IPv6 address given as ipv4_address."""
    from compose.static_addresses import static_address_problems

    project = _load(tmp_path, """services:
  a:
    image: busybox
    networks:
      pooled: {ipv4_address: 300.1.1.1, ipv6_address: "zz::1"}
      other: {ipv4_address: "fd00::5"}
networks:
  pooled: {}
  other: {}
""")
    problems = static_address_problems(project, ["a"])
    assert problems == [
        "service a: ipv4_address 300.1.1.1 on network pooled (services.a.networks.pooled."
        "ipv4_address): invalid IPv4 address: 300.1.1.1",
        "service a: ipv6_address zz::1 on network pooled (services.a.networks.pooled."
        "ipv6_address): invalid IPv6 address: zz::1",
        "service a: ipv4_address fd00::5 on network other (services.a.networks.other."
        "ipv4_address): invalid IPv4 address: fd00::5",
    ]
