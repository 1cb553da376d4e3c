"""Networking as a user types it: a scaled service on two networks (one internal) with a
published port, a `network_mode: service:` sidecar, DNS seen from a probe, `ps` PORTS,
`pycompose port`, a second project that cannot see the first, and `down` leaving nothing.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from engine.api import Engine
from engine.dns_control import control_address
from netdriver import firewall
from tests.conftest import run_cli

STACK = """
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
    stop_grace_period: 0s
    scale: 2
    ports: ["80"]
    networks:
      front:
        aliases: [www]
      back: {}
  side:
    image: busybox
    command: ["sh", "-c", "ip -o -4 addr show; sleep 300"]
    network_mode: "service:web"
    stop_grace_period: 0s
  probe:
    image: busybox
    depends_on: [web]
    networks: [back]
    command:
      - sh
      - -c
      - >-
        nslookup web; nslookup www || echo WWW-NOT-ON-BACK;
        nslookup ${OTHER:-nobody}-web-1 || echo OTHER-NOT-FOUND; ip route; echo DONE
networks:
  front: {}
  back:
    internal: true
"""


@pytest.fixture
def root(tmp_path: Path, busybox_tarball: Path) -> Path:
    data_root = tmp_path / "root"
    result = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=data_root
    )
    assert result.returncode == 0, result.stderr
    return data_root


def _cli(project: str, directory: Path, root: Path, *args: str, other: str = "") -> (
    subprocess.CompletedProcess[str]
):
    return run_cli(["-p", project, "--progress", "plain", *args], cwd=directory, root=root,
                   env={"OTHER": other} if other else None)


def _resolver_running(root: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(control_address(root))
        except OSError:
            return False
        return True


def _logs(project: str, directory: Path, root: Path, service: str) -> str:
    for _ in range(100):  # bounded: the probe finishes in well under 10 s
        out = _cli(project, directory, root, "logs", "--no-log-prefix", service).stdout
        if "DONE" in out or service != "probe":
            return out
        time.sleep(0.1)
    return out


def test_network_stack_end_to_end(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "stack"
    directory.mkdir()
    (directory / "compose.yaml").write_text(textwrap.dedent(STACK))
    first, second = f"net{uuid.uuid4().hex[:8]}", f"net{uuid.uuid4().hex[:8]}"
    try:
        up = _cli(first, directory, root, "up", "-d")
        assert up.returncode == 0, up.stderr
        up2 = _cli(second, directory, root, "up", "-d", other=first)
        assert up2.returncode == 0, up2.stderr

        # ps shows PORTS like docker; `port` prints the binding; the host reaches it.
        ps = _cli(first, directory, root, "ps", "--format", "json", "web")
        rows = [json.loads(line) for line in ps.stdout.splitlines()]
        assert len(rows) == 2
        assert all(re.fullmatch(r"0\.0\.0\.0:\d+->80/tcp", r["Ports"]) for r in rows), rows
        port = _cli(first, directory, root, "port", "web", "80", "--index", "1")
        assert port.returncode == 0, port.stderr
        host_port = int(port.stdout.strip().rsplit(":", 1)[1])
        assert f"0.0.0.0:{host_port}->80/tcp" in {r["Ports"] for r in rows}
        with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/hostname", timeout=5) as reply:
            assert len(reply.read().strip()) == 12

        # The probe on the internal network: both replicas, no front-only alias, no
        # default route, and nothing of the other project.
        probe = _logs(second, directory, root, "probe")
        assert "DONE" in probe, probe
        web_answers = re.findall(r"Name:\s+web\nAddress:\s+(\S+)", probe)
        assert len(set(web_answers)) == 2, probe
        assert "WWW-NOT-ON-BACK" in probe and "OTHER-NOT-FOUND" in probe
        assert "default" not in probe

        # The sidecar lives in web-1's network namespace.
        side = _logs(first, directory, root, "side")
        assert re.search(r"eth0\s+inet", side) and re.search(r"eth1\s+inet", side), side
        bad = _cli(first, directory, root, "port", "web", "81")
        assert bad.returncode != 0 and "no port 81/tcp" in bad.stderr
    finally:
        ids = [i for p in (first, second)
               for i in _cli(p, directory, root, "ps", "-a", "-q").stdout.split()]
        bridges = [n.bridge for n in Engine(root).networks.list_networks()]
        for project in (first, second):
            down = _cli(project, directory, root, "down")
            assert down.returncode == 0, down.stderr
    assert len(ids) == 8 and len(bridges) == 4
    assert not set(ids) & firewall.port_owners()
    rules = "\n".join(firewall.all_tagged_rules())
    assert not [b for b in bridges if b in rules]
    assert Engine(root).networks.list_networks() == []
    for _ in range(50):
        if not _resolver_running(root):
            break
        time.sleep(0.1)
    assert not _resolver_running(root)


def test_ipam_subnet_gateway_and_static_address(tmp_path: Path, root: Path) -> None:
    """`ipam.config` subnet and gateway and a service's `ipv4_address`, as the file says."""
    directory = tmp_path / "ipam"
    directory.mkdir()
    (directory / "compose.yaml").write_text(
        textwrap.dedent(
            """
            services:
              pinned:
                image: busybox
                command: ["sh", "-c", "ip -4 addr show eth0; ip route; exec sleep 60"]
                stop_grace_period: 0s
                networks:
                  lan:
                    ipv4_address: 10.231.7.50
            networks:
              lan:
                ipam:
                  config:
                    - subnet: 10.231.7.0/24
                      gateway: 10.231.7.254
            """
        )
    )
    name = f"ipam{uuid.uuid4().hex[:6]}"
    try:
        up = run_cli(["-p", name, "up", "-d"], cwd=directory, root=root)
        assert up.returncode == 0, up.stderr
        network = Engine(root).networks.get_network(f"{name}_lan")
        assert (network.subnet, network.gateway) == ("10.231.7.0/24", "10.231.7.254")
        logs = ""
        for _ in range(50):  # bounded: 5 s for the first lines
            logs = run_cli(["-p", name, "logs"], cwd=directory, root=root).stdout
            if "default via" in logs:
                break
            time.sleep(0.1)
        assert "inet 10.231.7.50/24" in logs
        assert "default via 10.231.7.254" in logs
    finally:
        run_cli(["-p", name, "down", "-t", "0"], cwd=directory, root=root)
