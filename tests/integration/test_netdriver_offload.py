"""IPv4 BIG TCP on the driver's links (netdriver/offload.py), on the real kernel.

Bridged container-to-container TCP is what it speeds up; throughput itself is measured in
bench/bench_network.py, never asserted. What a user would notice if it broke: the links lose
the setting (throughput drops back to Docker's), or super-packets crossing the bridge and the
iptables/conntrack hooks get corrupted or dropped. Traffic stays between the test's own
namespaces; the driver fixtures check that no link is left behind.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from netdriver.model import NetworkOptions
from netdriver.offload import BIG_TCP_IPV4_SIZE, steering_mask
from netdriver.pyroute2_messages import ifinfmsg
from netdriver.rtnl import Rtnl
from tests.integration.test_netdriver import (  # noqa: F401 - fixtures used by name
    RecordingDriver,
    Sandbox,
    driver,
    in_ns,
    netname,
    sandbox,
)

pytestmark = pytest.mark.root

RTM_GETLINK = 18
REPO = Path(__file__).resolve().parents[2]

_LINK_SIZES = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(REPO)!r})
    from netdriver.pyroute2_messages import ifinfmsg
    from netdriver.rtnl import Rtnl
    attr = sys.argv[1] if len(sys.argv) > 1 else "IFLA_GSO_IPV4_MAX_SIZE"
    with Rtnl() as nl:
        for msg in nl.dump({RTM_GETLINK}, ifinfmsg(), ifinfmsg):
            size = msg.get_attr(attr)
            if size is not None:
                print(msg.get_attr("IFLA_IFNAME"), size)
    """
)


def host_gso_sizes() -> dict[str, int]:
    """``gso_ipv4_max_size`` of the host's links (empty on kernels before 6.3)."""
    out: dict[str, int] = {}
    with Rtnl() as nl:
        for msg in nl.dump(RTM_GETLINK, ifinfmsg(), ifinfmsg):
            size = msg.get_attr("IFLA_GSO_IPV4_MAX_SIZE")
            if size is not None:
                out[msg.get_attr("IFLA_IFNAME")] = size
    return out


def ns_gso_sizes(pid: int, attr: str = "IFLA_GSO_IPV4_MAX_SIZE") -> dict[str, int]:
    lines = in_ns(pid, sys.executable, "-c", _LINK_SIZES, attr).stdout.split()
    return dict(zip(lines[::2], map(int, lines[1::2]), strict=True))


_SINK = textwrap.dedent(
    """
    import hashlib, socket, sys
    family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
    srv = socket.socket(family); srv.bind((sys.argv[1], 5201)); srv.listen(1)
    print("ready", flush=True)
    srv.settimeout(20)
    conn, _ = srv.accept(); conn.settimeout(20)
    digest, total = hashlib.sha256(), 0
    while chunk := conn.recv(1 << 20):
        digest.update(chunk); total += len(chunk)
    print(total, digest.hexdigest(), flush=True)
    """
)

_SOURCE = textwrap.dedent(
    """
    import hashlib, random, socket, sys
    rnd = random.Random(7); digest = hashlib.sha256()
    s = socket.create_connection((sys.argv[1], 5201), timeout=20)
    for _ in range(64):
        block = rnd.randbytes(1 << 20); digest.update(block); s.sendall(block)
    s.close()
    print(64 << 20, digest.hexdigest(), flush=True)
    """
)


def test_links_get_big_tcp_and_bulk_tcp_crosses_the_bridge_intact(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str  # noqa: F811
) -> None:
    if not host_gso_sizes():
        pytest.skip("kernel without IPv4 BIG TCP (Linux < 6.3)")
    driver.ensure_network(netname)
    a, b = sandbox(), sandbox()
    ea = driver.attach(netname, "ctr-a", a.netns, owner_pid=a.pid)
    eb = driver.attach(netname, "ctr-b", b.netns, owner_pid=b.pid)

    host = host_gso_sizes()
    assert host[ea.host_ifname] == host[eb.host_ifname] == BIG_TCP_IPV4_SIZE
    assert ns_gso_sizes(a.pid)["eth0"] == BIG_TCP_IPV4_SIZE
    assert ns_gso_sizes(b.pid)["lo"] != BIG_TCP_IPV4_SIZE  # only the driver's links
    mask = steering_mask()
    if mask is not None:  # receive steering on the host ends (one flow, one CPU)
        for port in (ea.host_ifname, eb.host_ifname):
            rps = Path(f"/sys/class/net/{port}/queues/rx-0/rps_cpus").read_text().strip()
            assert int(rps.replace(",", ""), 16) == int(mask.replace(",", ""), 16)

    # 64 MiB of bulk TCP from a to b over the bridge (br_netfilter and conntrack on the
    # path where the host has them): every byte arrives, in order.
    sent, received = _bulk_transfer(a, b, eb.ipv4)
    assert received == sent
    driver.detach(netname, "ctr-a")
    driver.detach(netname, "ctr-b")
    driver.remove_network(netname)


def _bulk_transfer(a: Sandbox, b: Sandbox, address: str) -> tuple[list[str], list[str]]:
    """64 MiB of TCP from ``a`` to ``address`` in ``b``: (sent, received) byte count + sha256."""
    sink = subprocess.Popen(
        ["nsenter", f"--net={b.netns}", sys.executable, "-c", _SINK, address],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        sent = in_ns(a.pid, sys.executable, "-c", _SOURCE, address).stdout.split()
        received = sink.stdout.readline().split()
        assert sink.wait(timeout=20) == 0
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    return sent, received


def test_ipv6_big_tcp_sizes_and_bulk_tcp_over_ipv6_crosses_the_bridge_intact(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str  # noqa: F811
) -> None:
    """IPv6 BIG TCP uses the links' generic GSO size (above 64 KiB, Linux 5.19+)."""
    if not host_gso_sizes():
        pytest.skip("kernel without IPv4 BIG TCP (Linux < 6.3): sizes fall back to 64 KiB")
    subnet = f"fd5c:{random.randrange(1 << 16):x}:{random.randrange(1 << 16):x}::/64"
    driver.ensure_network(netname, options=NetworkOptions(ipv6_subnet=subnet))
    a, b = sandbox(), sandbox()
    driver.attach(netname, "ctr-a", a.netns, owner_pid=a.pid)
    eb = driver.attach(netname, "ctr-b", b.netns, owner_pid=b.pid)
    assert ns_gso_sizes(a.pid, "IFLA_GSO_MAX_SIZE")["eth0"] == BIG_TCP_IPV4_SIZE
    assert ns_gso_sizes(b.pid, "IFLA_GRO_MAX_SIZE")["eth0"] == BIG_TCP_IPV4_SIZE
    assert eb.ipv6 is not None
    sent, received = _bulk_transfer(a, b, eb.ipv6)
    assert received == sent
    driver.detach(netname, "ctr-a")
    driver.detach(netname, "ctr-b")
    driver.remove_network(netname)
