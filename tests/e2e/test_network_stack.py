"""Networking as a user types it: a scaled service on two networks (one internal) with a
published port, a `network_mode: service:` sidecar, DNS seen from a probe, `ps` PORTS,
`pycompose port`, a second project that cannot see the first, and `down` leaving nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from engine.api import Engine
from engine.dns_control import resolver_running
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
    command: ["sh", "-c", "ip -o -4 addr show; echo host=$(hostname); sleep 300"]
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


def _answer(nslookup: str) -> list[str]:
    """The addresses busybox's nslookup printed for the name (not the server's own)."""
    return re.findall(r"Name:\s+\S+\s+Address(?: \d+)?:\s+(\S+)", nslookup)


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
        web_host = _cli(first, directory, root, "exec", "-T", "web", "hostname").stdout.strip()
        assert f"host={web_host}\n" in side, (web_host, side)  # Docker: the joined one's
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
        if not resolver_running(root):
            break
        time.sleep(0.1)
    assert not resolver_running(root)


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


EXTRAS = """
services:
  db:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
    stop_grace_period: 0s
    networks:
      lan:
        ipv6_address: fd5e:2:3::db
  app:
    image: busybox
    links: ["db:database"]
    depends_on: [db]
    networks: [lan]
    command:
      - sh
      - -c
      - >-
        ip -o addr show eth0; cat /sys/class/net/eth0/mtu;
        nslookup database; nslookup -type=AAAA db;
        ping -6 -c 1 -W 2 fd5e:2:3::db && echo PING6-OK; echo DONE; exec sleep 60
    stop_grace_period: 0s
networks:
  lan:
    enable_ipv6: true
    attachable: true
    driver_opts:
      com.docker.network.driver.mtu: "1400"
      com.docker.network.bridge.name: BRIDGE
    ipam:
      config:
        - subnet: 10.232.4.0/24
          ip_range: 10.232.4.64/26
          aux_addresses:
            printer: 10.232.4.64
        - subnet: fd5e:2:3::/64
"""


def test_ipam_range_aux_ipv6_mtu_bridge_name_and_links(tmp_path: Path, root: Path) -> None:
    """The issue-5 extras from a stack file: addresses come from ip_range minus aux_addresses,
    IPv6 with a static address and AAAA answers, the MTU and bridge name from driver_opts,
    and a `links` alias that only the linking service resolves."""
    directory = tmp_path / "extras"
    directory.mkdir()
    bridge = f"pct{uuid.uuid4().hex[:8]}"
    (directory / "compose.yaml").write_text(textwrap.dedent(EXTRAS).replace("BRIDGE", bridge))
    name = f"ext{uuid.uuid4().hex[:6]}"
    try:
        up = run_cli(["-p", name, "up", "-d"], cwd=directory, root=root)
        assert up.returncode == 0, up.stderr
        network = Engine(root).networks.get_network(f"{name}_lan")
        assert (network.bridge, network.mtu, network.attachable) == (bridge, 1400, True)
        assert network.subnet6 == "fd5e:2:3::/64"
        logs = ""
        for _ in range(100):  # bounded: 10 s
            logs = run_cli(["-p", name, "logs", "--no-log-prefix", "app"], cwd=directory,
                           root=root).stdout
            if "DONE" in logs:
                break
            time.sleep(0.1)
        db_ip = Engine(root).inspect(f"{name}-db-1").state.addresses[f"{name}_lan"]
        assert db_ip == "10.232.4.65"  # first of the range; .64 is held for the printer
        assert "inet 10.232.4.66/24" in logs  # app, next in the range
        assert "1400" in logs.split()
        assert re.search(rf"Name:\s+database\s+Address:\s+{re.escape(db_ip)}", logs), logs
        assert "fd5e:2:3::db" in logs and "PING6-OK" in logs, logs
        exec_out = run_cli(["-p", name, "exec", "-T", "db", "nslookup", "database"],
                           cwd=directory, root=root)
        assert exec_out.returncode != 0  # db has no link: not a name for it
    finally:
        run_cli(["-p", name, "down", "-t", "0"], cwd=directory, root=root)
    assert bridge not in {n for _, n in socket.if_nameindex()}


def test_bad_ipam_is_a_clear_error_and_makes_nothing(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "bad"
    directory.mkdir()
    (directory / "compose.yaml").write_text(textwrap.dedent("""
        services:
          a:
            image: busybox
            networks: [lan]
        networks:
          lan:
            ipam:
              config:
                - subnet: 10.233.0.0/24
                  ip_range: 10.234.0.0/24
        """))
    name = f"bad{uuid.uuid4().hex[:6]}"
    up = run_cli(["-p", name, "up", "-d"], cwd=directory, root=root)
    assert up.returncode == 1
    assert re.search(r"compose\.yaml:11: networks\.lan\.ipam\.config\[0\]\.ip_range: network "
                     r"lan: ip_range 10\.234\.0\.0/24 is not inside subnet 10\.233\.0\.0/24",
                     up.stderr), up.stderr
    assert Engine(root).networks.list_networks() == []


def test_static_address_without_a_configured_subnet_is_refused_before_anything_is_made(
    tmp_path: Path, root: Path
) -> None:
    """Docker's rule: `ipv4_address`/`ipv6_address` need a subnet the user configured."""
    directory = tmp_path / "nosubnet"
    directory.mkdir()
    (directory / "compose.yaml").write_text(textwrap.dedent("""
        services:
          db:
            image: busybox
            command: ["sleep", "60"]
          web:
            image: busybox
            command: ["sleep", "60"]
            depends_on: [db]
            networks:
              lan:
                ipv4_address: 10.235.0.9
        networks:
          lan: {}
        """))
    name = f"nosub{uuid.uuid4().hex[:6]}"
    try:
        up = run_cli(["-p", name, "up", "-d"], cwd=directory, root=root)
        assert up.returncode == 1, up.stdout
        assert "service web: ipv4_address 10.235.0.9 on network lan" in up.stderr, up.stderr
        assert "services.web.networks.lan.ipv4_address" in up.stderr
        assert "user configured subnets" in up.stderr
        assert "Traceback" not in up.stderr
        assert Engine(root).networks.list_networks() == []
        assert Engine(root).list_containers() == []  # not even the service without an address
        config = run_cli(["-p", name, "config", "-q"], cwd=directory, root=root)
        assert config.returncode == 0, config.stderr  # as docker compose: the file is valid
    finally:
        run_cli(["-p", name, "down"], cwd=directory, root=root)


def test_up_and_down_sweep_a_bridge_left_by_a_crash(tmp_path: Path, root: Path) -> None:
    """A network whose record vanished (crash between bridge and record) while its bridge
    stayed: the next `down` (or `up`) of any project removes the bridge."""
    engine = Engine(root)
    name = f"crash{uuid.uuid4().hex[:6]}"
    leftover = engine.ensure_network(f"{name}_default", labels={})
    (root / "networks" / "networks" / f"{name}_default.json").unlink()
    try:
        directory = tmp_path / "sweep"
        directory.mkdir()
        (directory / "compose.yaml").write_text("services:\n  a:\n    image: busybox\n")
        down = run_cli(["-p", name, "down"], cwd=directory, root=root)
        assert down.returncode == 0, down.stderr
        assert leftover.bridge not in {n for _, n in socket.if_nameindex()}
    finally:
        subprocess.run(["ip", "link", "del", leftover.bridge], check=False, capture_output=True)


def _resolver_pids(root: Path) -> set[int]:
    """Processes holding the root's resolver control socket (an abstract unix socket)."""
    from engine.dns_control import control_address

    name = "@" + control_address(root)[1:]
    with open("/proc/net/unix", encoding="ascii", errors="replace") as table:
        inodes = {f"socket:[{line.split()[6]}]" for line in table if line.split()[-1] == name}
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if any(str(fd.readlink()) in inodes for fd in (entry / "fd").iterdir()):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def test_a_killed_resolver_comes_back_with_the_next_up(tmp_path: Path, root: Path) -> None:
    """Service names resolve again after `up -d` on an unchanged stack (nothing restarts)."""
    name = f"dns{uuid.uuid4().hex[:8]}"
    (tmp_path / "compose.yaml").write_text(
        'services:\n  web:\n    image: busybox\n    command: ["sleep", "300"]\n'
        "    stop_grace_period: 0s\n"
    )
    try:
        assert _cli(name, tmp_path, root, "up", "-d").returncode == 0
        pids = _resolver_pids(root)
        assert len(pids) == 1
        os.kill(pids.pop(), signal.SIGKILL)
        for _ in range(100):
            if not resolver_running(root):
                break
            time.sleep(0.05)
        assert not resolver_running(root)
        again = _cli(name, tmp_path, root, "up", "-d")
        assert again.returncode == 0 and "Recreate" not in again.stderr
        assert resolver_running(root)
        found = run_cli(["-p", name, "exec", "-T", "web", "nslookup", "web"], cwd=tmp_path,
                        root=root)
        assert found.returncode == 0 and "Address" in found.stdout, found.stdout + found.stderr
    finally:
        _cli(name, tmp_path, root, "down", "-t", "0")


TWO_NETWORKS = """
services:
  both:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [n1, n2]
  only1:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [n1]
  only2:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [n2]
networks:
  n1: {}
  n2: {}
"""


def test_a_container_on_two_networks_resolves_the_names_of_both(
    tmp_path: Path, root: Path
) -> None:
    """Docker's embedded DNS: a container resolves every network it is on (its resolv.conf
    names one gateway); one on a single network sees that network's names only."""
    directory = tmp_path / "two"
    directory.mkdir()
    (directory / "compose.yaml").write_text(TWO_NETWORKS)
    project = f"two{uuid.uuid4().hex[:8]}"

    def lookup(service: str, name: str) -> subprocess.CompletedProcess[str]:
        return _cli(project, directory, root, "exec", "-T", service, "nslookup", name)

    try:
        up = _cli(project, directory, root, "up", "-d")
        assert up.returncode == 0, up.stderr
        for name in ("only1", "only2"):
            found = lookup("both", name)
            assert found.returncode == 0 and re.search(r"Name:\s+" + name, found.stdout), (
                name, found.stdout, found.stderr)
        assert lookup("only1", "only2").returncode != 0  # no common network: no name
        assert lookup("only2", "only1").returncode != 0
    finally:
        down = _cli(project, directory, root, "down", "-t", "0")
        assert down.returncode == 0, down.stderr


HOSTNAMED = """
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    hostname: custom-s9-host
  probe:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
"""


def test_a_custom_hostname_is_one_of_the_names_the_resolver_answers(
    tmp_path: Path, root: Path
) -> None:
    """Docker's embedded DNS (since 25: a record for each of the endpoint's DNSNames) answers
    the container name, the service name and aliases, the short id and `hostname:`; the
    container itself also has its hostname in /etc/hosts."""
    directory = tmp_path / "hostnamed"
    directory.mkdir()
    (directory / "compose.yaml").write_text(HOSTNAMED)
    project = f"hn{uuid.uuid4().hex[:8]}"

    def lookup(service: str, name: str) -> subprocess.CompletedProcess[str]:
        return _cli(project, directory, root, "exec", "-T", service, "nslookup", name)

    try:
        up = _cli(project, directory, root, "up", "-d")
        assert up.returncode == 0, up.stderr
        assert lookup("probe", "web").returncode == 0
        assert lookup("probe", f"{project}-web-1").returncode == 0
        by_hostname, by_service = lookup("probe", "custom-s9-host"), lookup("probe", "web")
        assert by_hostname.returncode == 0, by_hostname.stdout
        assert _answer(by_hostname.stdout) == _answer(by_service.stdout) != []
        networks = json.loads(_cli(project, directory, root, "container", "inspect", "-f",
                                   "{{json .NetworkSettings.Networks}}", f"{project}-web-1").stdout)
        assert next(iter(networks.values()))["DNSNames"][-1] == "custom-s9-host"
        own = _cli(project, directory, root, "exec", "-T", "web", "sh", "-c",
                   "hostname; grep -c custom-s9-host /etc/hosts")
        assert own.stdout.split() == ["custom-s9-host", "1"], own.stdout
    finally:
        down = _cli(project, directory, root, "down", "-t", "0")
        assert down.returncode == 0, down.stderr
