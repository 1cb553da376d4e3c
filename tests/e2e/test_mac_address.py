"""`mac_address` (the service's, for its primary network, and `networks.X.mac_address`) is the
MAC the container's interface gets, as Docker's; other interfaces keep the address-derived one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

STACK = """
services:
  a:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    mac_address: 02:42:AC:11:00:99
  b:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks:
      default:
      other:
        mac_address: "02:aa:bb:cc:dd:ee"
networks:
  other:
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "mac")


def _macs(project: Project, service: str) -> list[str]:
    out = project.cli("exec", "-T", service, "cat", "/sys/class/net/eth0/address",
                      *(["/sys/class/net/eth1/address"] if service == "b" else []))
    return out.split()


def test_the_container_gets_the_mac_the_file_asks_for(project: Project) -> None:
    project.write(STACK)
    done = project.run("up", "-d")
    assert done.returncode == 0 and "WARN" not in done.stderr, done.stderr
    assert _macs(project, "a") == ["02:42:ac:11:00:99"]
    macs = _macs(project, "b")
    assert macs[0].startswith("02:42:") and "02:aa:bb:cc:dd:ee" in macs
    assert "bytes from" in project.cli("exec", "-T", "b", "ping", "-c1", "-W2", "a")
