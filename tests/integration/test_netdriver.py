"""netdriver on the real kernel: bridges, veth pairs, addresses, routes, traffic, cleanup.

Each test makes its own throwaway network namespaces (an ``unshare -n sleep`` child, used
through ``/proc/<pid>/ns/net``), a network with a unique name and a private state dir, and
checks afterwards that no ``pc*`` link it made is left behind. Traffic stays between the
test's own namespaces.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from netdriver import host_links
from netdriver.api import Endpoint, Network, NetworkDriver, NetworkOptions
from netdriver.errors import (
    AddressInUseError,
    EndpointExistsError,
    InvalidNetworkConfigError,
    NetlinkError,
    NetworkConflictError,
    NetworkInUseError,
    NetworkNotFoundError,
)
from netdriver.names import host_veth_name

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, veth, bridges)"),
]

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- helpers


def pc_links() -> set[str]:
    """Names of host links starting with 'pc' (ours)."""
    out = subprocess.run(["ip", "-br", "link"], check=True, capture_output=True, text=True)
    return {line.split()[0].split("@")[0] for line in out.stdout.splitlines()
            if line.startswith("pc")}


def in_ns(pid: int, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", *cmd],
        check=check, capture_output=True, text=True, timeout=20,
    )


_PING_PY = textwrap.dedent(
    """
    import socket, struct, sys
    def csum(b):
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xFFFF); s += s >> 16
        return ~s & 0xFFFF
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    pkt = struct.pack("!BBHHH", 8, 0, 0, 4242, 1) + b"pycompose-ping"
    pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
    s.sendto(pkt, (sys.argv[1], 0))
    while True:
        data, addr = s.recvfrom(1500)
        if addr[0] == sys.argv[1] and data[20] == 0:
            sys.exit(0)
    """
)


def ping(pid: int, ip: str) -> bool:
    """One ICMP echo from namespace of ``pid`` to ``ip`` (ping(8) if installed)."""
    if shutil.which("ping"):
        return in_ns(pid, "ping", "-c1", "-W1", ip, check=False).returncode == 0
    return in_ns(pid, sys.executable, "-c", _PING_PY, ip, check=False).returncode == 0


def ns_addrs(pid: int) -> dict[str, list[tuple[str, int]]]:
    data = json.loads(in_ns(pid, "ip", "-j", "-4", "addr").stdout)
    return {i["ifname"]: [(a["local"], a["prefixlen"]) for a in i["addr_info"]] for i in data}


def ns_links(pid: int) -> dict[str, dict[str, Any]]:
    return {i["ifname"]: i for i in json.loads(in_ns(pid, "ip", "-j", "link").stdout)}


def ns_default_gw(pid: int) -> str | None:
    routes = json.loads(in_ns(pid, "ip", "-j", "-4", "route").stdout)
    return next((r.get("gateway") for r in routes if r["dst"] == "default"), None)


class Sandbox:
    """A process that sits in a fresh network namespace until killed."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["unshare", "--net", "sleep", "3600"])
        self.pid = self.proc.pid
        mine = os.stat("/proc/self/ns/net").st_ino
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # wait until unshare has switched and exec'd
            try:
                if (os.stat(self.netns).st_ino != mine
                        and Path(f"/proc/{self.pid}/comm").read_text().strip() == "sleep"):
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.005)
        raise RuntimeError("sandbox did not enter a new netns")

    @property
    def netns(self) -> str:
        return f"/proc/{self.pid}/ns/net"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------- fixtures


class RecordingDriver(NetworkDriver):
    """The driver, remembering every kernel name it could have made, for the leak check.

    Checking only our own names (not "every pc* link") keeps the check exact when other
    test runs create pycompose links on the same host at the same time.
    """

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.made: set[str] = set()
        self.net_ids: dict[str, str] = {}

    def ensure_network(self, name: str, **kw: Any) -> Network:
        net = super().ensure_network(name, **kw)
        self.made.add(net.bridge)
        self.net_ids[net.name] = net.id
        return net

    def attach(self, network: str, endpoint_id: str, netns_path: str, **kw: Any) -> Endpoint:
        if network in self.net_ids:  # also the name a failed attach would have used
            self.made.add(host_veth_name(self.net_ids[network], endpoint_id))
        return super().attach(network, endpoint_id, netns_path, **kw)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[RecordingDriver]:
    drv = RecordingDriver(tmp_path / "state")
    yield drv
    # best-effort teardown of whatever a failing test left, then the leak check
    for net in drv.list_networks():
        for ep in drv.endpoints(net.name):
            drv.detach(net.name, ep.endpoint_id)
        drv.remove_network(net.name)
    leaked = drv.made & pc_links()
    assert not leaked, f"leaked links: {leaked}"
    # nothing at all: no record, no endpoint file, no address claim, no temp file
    assert sorted(p.name for p in (tmp_path / "state" / "networks").iterdir()) == []


@pytest.fixture
def sandbox() -> Iterator[Callable[[], Sandbox]]:
    made: list[Sandbox] = []

    def make() -> Sandbox:
        box = Sandbox()
        made.append(box)
        return box

    yield make
    for box in made:
        box.kill()
    for box in made:
        assert not Path(f"/proc/{box.pid}").exists(), "sandbox process (and netns) leaked"


@pytest.fixture
def netname() -> str:
    return f"nd{uuid.uuid4().hex[:10]}_default"


# ---------------------------------------------------------------- tests


def test_lifecycle_attach_ping_detach_remove(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    net = driver.ensure_network(netname, labels={"com.docker.compose.network": "default"})
    assert net.bridge.startswith("pcbr") and len(net.bridge) <= 15
    assert net.bridge in pc_links()
    assert driver.get_network(netname) == net
    assert net in driver.list_networks()

    a, b = sandbox(), sandbox()
    ea = driver.attach(netname, "ctr-a", a.netns, names=("web", "proj-web-1"), owner_pid=a.pid)
    eb = driver.attach(netname, "ctr-b", b.netns, names=("db",), owner_pid=b.pid)
    assert ea.ipv4 != eb.ipv4
    assert ea.gateway == eb.gateway == net.gateway
    assert ea.names == ("web", "proj-web-1")
    assert ea.host_ifname.startswith("pcv") and len(ea.host_ifname) <= 15

    for box, ep in ((a, ea), (b, eb)):
        addrs = ns_addrs(box.pid)
        assert addrs["eth0"] == [(ep.ipv4, ep.prefixlen)]
        assert ("127.0.0.1", 8) in addrs["lo"]
        links = ns_links(box.pid)
        assert links["eth0"]["address"] == ep.mac
        assert "UP" in links["eth0"]["flags"] and "UP" in links["lo"]["flags"]
        assert ns_default_gw(box.pid) == net.gateway

    assert ping(a.pid, eb.ipv4)
    assert ping(b.pid, ea.ipv4)
    assert ping(a.pid, net.gateway)  # the bridge answers as gateway

    assert sorted(e.endpoint_id for e in driver.endpoints(netname)) == ["ctr-a", "ctr-b"]

    driver.detach(netname, "ctr-a")
    driver.detach(netname, "ctr-a")  # idempotent
    assert ea.host_ifname not in pc_links()
    assert "eth0" not in ns_links(a.pid)  # deleting the host end took the peer with it
    assert [e.endpoint_id for e in driver.endpoints(netname)] == ["ctr-b"]
    driver.detach(netname, "ctr-b")
    assert driver.endpoints(netname) == []

    driver.remove_network(netname)
    assert driver.find_network(netname) is None
    with pytest.raises(NetworkNotFoundError):
        driver.get_network(netname)
    assert not {net.bridge, ea.host_ifname, eb.host_ifname} & pc_links()
    assert sorted(p.name for p in (tmp_path / "state" / "networks").iterdir()) == []


def test_ensure_is_idempotent_and_recreates_missing_bridge(
    driver: RecordingDriver, netname: str
) -> None:
    net = driver.ensure_network(netname)
    assert driver.ensure_network(netname) == net
    subprocess.run(["ip", "link", "del", net.bridge], check=True)  # as after a reboot
    assert net.bridge not in pc_links()
    assert driver.ensure_network(netname) == net
    info = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", net.bridge],
                                     check=True, capture_output=True, text=True).stdout)[0]
    assert "UP" in info["flags"]
    assert [(x["local"], x["prefixlen"]) for x in info["addr_info"]] == [
        (net.gateway, int(net.subnet.split("/")[1]))
    ]


def test_ensure_conflicting_config(driver: RecordingDriver, netname: str) -> None:
    driver.ensure_network(netname, subnet="10.213.0.0/24")
    with pytest.raises(NetworkConflictError):
        driver.ensure_network(netname, subnet="10.213.1.0/24")
    with pytest.raises(NetworkConflictError):
        driver.ensure_network(netname, internal=True)


def test_second_network_gets_next_free_subnet(driver: RecordingDriver, netname: str) -> None:
    n1 = driver.ensure_network(netname)
    n2 = driver.ensure_network(netname + "2")
    assert n1.subnet != n2.subnet
    assert n1.bridge != n2.bridge


def test_explicit_subnet_gateway_and_static_ip(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    net = driver.ensure_network(netname, subnet="10.213.7.0/24", gateway="10.213.7.254")
    assert (net.subnet, net.gateway) == ("10.213.7.0/24", "10.213.7.254")
    a, b = sandbox(), sandbox()
    ea = driver.attach(netname, "a", a.netns, ipv4="10.213.7.77")
    assert ea.ipv4 == "10.213.7.77" and ea.mac == "02:42:0a:d5:07:4d"
    assert ns_default_gw(a.pid) == "10.213.7.254"
    with pytest.raises(AddressInUseError):
        driver.attach(netname, "b", b.netns, ipv4="10.213.7.77")
    eb = driver.attach(netname, "b", b.netns)
    assert eb.ipv4 == "10.213.7.1"
    assert ping(b.pid, ea.ipv4)


def test_internal_network_has_no_default_route(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    driver.ensure_network(netname, internal=True)
    a = sandbox()
    driver.attach(netname, "a", a.netns)
    assert ns_default_gw(a.pid) is None


def test_no_default_route_when_not_asked(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    driver.ensure_network(netname)
    a = sandbox()
    driver.attach(netname, "a", a.netns, ifname="net1", default_route=False)
    assert "net1" in ns_addrs(a.pid)
    assert ns_default_gw(a.pid) is None


def test_remove_network_with_live_endpoint_fails(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    net = driver.ensure_network(netname)
    a = sandbox()
    driver.attach(netname, "a", a.netns, owner_pid=a.pid)
    with pytest.raises(NetworkInUseError):
        driver.remove_network(netname)
    assert net.bridge in pc_links()
    with pytest.raises(EndpointExistsError):
        driver.attach(netname, "a", a.netns, ifname="eth1")
    driver.detach(netname, "a")
    driver.remove_network(netname)
    assert net.bridge not in pc_links()


def test_unknown_network(driver: RecordingDriver, sandbox: Callable[[], Sandbox]) -> None:
    with pytest.raises(NetworkNotFoundError):
        driver.attach("nd-missing", "a", sandbox().netns)
    with pytest.raises(NetworkNotFoundError):
        driver.remove_network("nd-missing")
    with pytest.raises(NetworkNotFoundError):
        driver.endpoints("nd-missing")
    driver.detach("nd-missing", "a")  # idempotent


def test_dead_owner_is_pruned_and_address_reused(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    driver.ensure_network(netname)
    a, b, c = sandbox(), sandbox(), sandbox()
    ea = driver.attach(netname, "a", a.netns, owner_pid=a.pid)
    driver.attach(netname, "b", b.netns, owner_pid=b.pid)
    a.kill()
    assert [e.endpoint_id for e in driver.endpoints(netname)] == ["b"]
    assert ea.host_ifname not in pc_links()
    ec = driver.attach(netname, "c", c.netns, owner_pid=c.pid)
    assert ec.ipv4 == ea.ipv4  # the lowest free address again


def test_pid_reuse_is_not_liveness(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    """A recorded start time that no longer matches the pid means the owner is gone."""
    driver.ensure_network(netname)
    a = sandbox()
    ep = driver.attach(netname, "a", a.netns, owner_pid=a.pid)
    # the endpoint's own file (netdriver.endpoint_store), named after its host veth
    (path,) = (tmp_path / "state" / "networks").glob(f"*.e.{ep.host_ifname}")
    data = json.loads(path.read_text())
    data["owner_start"] -= 1  # as if the pid now belonged to another process
    path.write_text(json.dumps(data))
    assert driver.endpoints(netname) == []
    assert "eth0" not in ns_links(a.pid)


def test_crash_leftovers_are_pruned_when_they_are_in_the_way(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    """A crash between claiming and attaching leaves an empty endpoint file and an address
    claim: a later attach with the same id, or asking for that address, still succeeds."""
    net = driver.ensure_network(netname)
    state = tmp_path / "state" / "networks"
    gone = host_veth_name(net.id, "a")
    (state / f"{net.id[:16]}.e.{gone}").touch()  # the crash leftovers
    (state / f"{net.id[:16]}.a.172.31.255.9").touch()
    a = sandbox()
    ea = driver.attach(netname, "a", a.netns, owner_pid=a.pid)
    assert ea.host_ifname == gone
    assert not (state / f"{net.id[:16]}.a.172.31.255.9").exists()  # pruned with it
    net2 = driver.get_network(netname)
    taken = str(IPv4Network(net2.subnet).network_address + 9)
    (state / f"{net.id[:16]}.a.{taken}").touch()  # an unheld claim on the wanted address
    b = sandbox()
    eb = driver.attach(netname, "b", b.netns, ipv4=taken, owner_pid=b.pid)
    assert eb.ipv4 == taken
    with pytest.raises(EndpointExistsError):  # a live endpoint is not pruned away
        driver.attach(netname, "a", sandbox().netns)
    assert [e.endpoint_id for e in driver.endpoints(netname)] == ["a", "b"]


def test_concurrent_attach_and_detach_keep_addresses_unique(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    """Detaches (exclusive, short) interleaved with attaches (shared): every live endpoint
    has its own address, and every detached address is free again."""
    driver.ensure_network(netname)
    boxes = [sandbox() for _ in range(12)]
    for i, box in enumerate(boxes[:6]):
        driver.attach(netname, f"old{i}", box.netns, owner_pid=box.pid)

    def attach(i: int) -> str:
        return driver.attach(netname, f"new{i}", boxes[6 + i].netns, ifname="eth1").ipv4

    with ThreadPoolExecutor(max_workers=12) as pool:
        attaches = [pool.submit(attach, i) for i in range(6)]
        detaches = [pool.submit(driver.detach, netname, f"old{i}") for i in range(6)]
        got = [f.result() for f in attaches]
        for f in detaches:
            f.result()
    live = driver.endpoints(netname)
    assert sorted(e.endpoint_id for e in live) == [f"new{i}" for i in range(6)]
    assert len(set(got)) == 6 and set(got) == {e.ipv4 for e in live}
    subnet = IPv4Network(driver.get_network(netname).subnet)
    lowest_free = next(str(a) for a in list(subnet.hosts())[1:] if str(a) not in got)
    assert driver.attach(netname, "again", sandbox().netns).ipv4 == lowest_free


def test_failed_attach_leaves_nothing(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    net = driver.ensure_network(netname)
    a = sandbox()
    with pytest.raises(NetlinkError):
        driver.attach(netname, "x", "/proc/999999999/ns/net")
    ea = driver.attach(netname, "a", a.netns)
    # same namespace, same ifname: the kernel refuses half-way (EEXIST) -> veth rolled back
    with pytest.raises(NetlinkError, match="exists"):
        driver.attach(netname, "a2", a.netns)
    links = pc_links()
    assert ea.host_ifname in links
    assert host_veth_name(net.id, "x") not in links
    assert host_veth_name(net.id, "a2") not in links
    assert [e.endpoint_id for e in driver.endpoints(netname)] == ["a"]
    b = sandbox()
    eb = driver.attach(netname, "b", b.netns)  # the failed attempts consumed no address
    assert int(eb.ipv4.split(".")[-1]) == int(ea.ipv4.split(".")[-1]) + 1


_ATTACH_PY = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from netdriver.api import NetworkDriver
    state, net, ep, ns, pid = sys.argv[1:6]
    e = NetworkDriver(Path(state)).attach(net, ep, ns, owner_pid=int(pid))
    print(json.dumps({"id": e.endpoint_id, "ip": e.ipv4}))
    """
)


def test_concurrent_attaches_from_processes_get_distinct_ips(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    driver.ensure_network(netname)
    boxes = [sandbox() for _ in range(8)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ATTACH_PY, str(tmp_path / "state"), netname, f"ep{i}",
             box.netns, str(box.pid)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for i, box in enumerate(boxes)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    ips = [r["ip"] for r in results]
    assert len(set(ips)) == len(ips) == 8
    eps: list[Endpoint] = driver.endpoints(netname)
    assert sorted(e.ipv4 for e in eps) == sorted(ips)
    assert ping(boxes[0].pid, ips[-1])


def test_concurrent_attaches_from_threads(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    """The engine attaches from scheduler threads: namespace work must not leak between them."""
    from concurrent.futures import ThreadPoolExecutor

    driver.ensure_network(netname)
    boxes = [sandbox() for _ in range(8)]
    my_netns = os.stat("/proc/thread-self/ns/net").st_ino
    with ThreadPoolExecutor(max_workers=8) as pool:
        eps = list(pool.map(
            lambda ib: driver.attach(netname, f"t{ib[0]}", ib[1].netns, owner_pid=ib[1].pid),
            enumerate(boxes),
        ))
    assert os.stat("/proc/thread-self/ns/net").st_ino == my_netns
    assert len({e.ipv4 for e in eps}) == 8
    for box, ep in zip(boxes, eps, strict=True):
        assert ns_addrs(box.pid)["eth0"] == [(ep.ipv4, ep.prefixlen)]
    assert ping(boxes[0].pid, eps[-1].ipv4)


def test_failure_inside_namespace_rolls_back(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    """The veth is made, then the kernel refuses the default route: nothing may remain."""
    net = driver.ensure_network(netname)
    a = sandbox()
    for cmd in (["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                ["ip", "link", "set", "d1", "up"], ["ip", "link", "set", "d0", "up"],
                ["ip", "addr", "add", "10.255.0.2/24", "dev", "d0"],
                ["ip", "route", "add", "default", "via", "10.255.0.1"]):
        in_ns(a.pid, *cmd)
    with pytest.raises(NetlinkError, match="File exists") as info:
        driver.attach(netname, "a", a.netns)
    assert info.value.subject == a.netns
    assert host_veth_name(net.id, "a") not in pc_links()
    assert "eth0" not in ns_links(a.pid)
    assert driver.endpoints(netname) == []
    ep = driver.attach(netname, "a", a.netns, default_route=False)  # same address again
    assert ep.ipv4 == str(ipaddress.ip_network(net.subnet)[2])


# ---------------------------------------------------------------- options (issue 5 extras)


def _link(name: str) -> dict[str, object]:
    out = subprocess.run(["ip", "-j", "link", "show", name], capture_output=True, text=True)
    data = json.loads(out.stdout or "[]")
    return data[0] if data else {}


def test_dynamic_addresses_come_from_ip_range_and_skip_aux(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    options = NetworkOptions(
        ip_range="10.214.3.64/30", aux_addresses={"router": "10.214.3.65"}
    )
    net = driver.ensure_network(netname, subnet="10.214.3.0/24", options=options)
    assert (net.ip_range, net.aux_addresses) == ("10.214.3.64/30", {"router": "10.214.3.65"})
    a, b, c, d = sandbox(), sandbox(), sandbox(), sandbox()
    got = [driver.attach(netname, n, s.netns).ipv4 for n, s in (("a", a), ("b", b), ("c", c))]
    assert got == ["10.214.3.64", "10.214.3.66", "10.214.3.67"]  # .65 is reserved
    static = driver.attach(netname, "d", d.netns, ipv4="10.214.3.200")  # outside the range: ok
    assert static.ipv4 == "10.214.3.200"
    assert ping(a.pid, static.ipv4)
    with pytest.raises(AddressInUseError, match="reserved"):
        driver.attach(netname, "e", d.netns, ipv4="10.214.3.65")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (NetworkOptions(ip_range="10.215.0.0/16"), "not inside subnet"),
        (NetworkOptions(aux_addresses={"x": "10.99.0.5"}), "not a usable host address"),
        (NetworkOptions(aux_addresses={"gw": "10.215.3.1"}), "is the gateway"),
        (NetworkOptions(mtu=20), "invalid mtu"),
        (NetworkOptions(bridge_name="way-too-long-name"), "invalid bridge name"),
        (NetworkOptions(bridge_name="lo"), "already in use"),
        (NetworkOptions(ipv6_subnet="fd00:1::1/64"), "invalid IPv6 subnet"),
        (NetworkOptions(ipv6_gateway="fd00:1::1"), "needs an IPv6 subnet"),
    ],
)
def test_bad_options_are_refused_and_leave_nothing(
    driver: RecordingDriver, netname: str, options: NetworkOptions, message: str
) -> None:
    with pytest.raises(InvalidNetworkConfigError, match=message):
        driver.ensure_network(netname, subnet="10.215.3.0/24", options=options)
    assert driver.find_network(netname) is None


def test_mtu_and_bridge_name_reach_the_kernel(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    bridge = f"pct{uuid.uuid4().hex[:8]}"
    net = driver.ensure_network(netname, options=NetworkOptions(mtu=1400, bridge_name=bridge))
    driver.made.add(bridge)
    assert net.bridge == bridge and net.mtu == 1400
    a = sandbox()
    ep = driver.attach(netname, "a", a.netns)
    assert _link(bridge)["mtu"] == 1400
    assert _link(ep.host_ifname)["mtu"] == 1400
    inside = json.loads(in_ns(a.pid, "ip", "-j", "link", "show", "eth0").stdout)[0]
    assert inside["mtu"] == 1400
    with pytest.raises(NetworkConflictError):
        driver.ensure_network(netname, options=NetworkOptions(mtu=1500))
    with pytest.raises(NetworkConflictError, match="already in use"):
        driver.ensure_network(netname + "x", options=NetworkOptions(bridge_name=bridge))


def test_ipv6_addresses_default_route_and_ping6(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str
) -> None:
    options = NetworkOptions(ipv6_subnet="fd5c:1:2::/64")
    net = driver.ensure_network(netname, options=options)
    assert (net.subnet6, net.gateway6) == ("fd5c:1:2::/64", "fd5c:1:2::1")
    a, b = sandbox(), sandbox()
    ea = driver.attach(netname, "a", a.netns)
    eb = driver.attach(netname, "b", b.netns, ipv6="fd5c:1:2::99")
    assert (ea.ipv6, eb.ipv6) == ("fd5c:1:2::2", "fd5c:1:2::99")
    routes = json.loads(in_ns(a.pid, "ip", "-j", "-6", "route").stdout)
    assert any(r["dst"] == "default" and r.get("gateway") == "fd5c:1:2::1" for r in routes)
    ping6 = ("busybox", "ping", "-6", "-c1", "-W2")
    assert in_ns(a.pid, *ping6, "fd5c:1:2::99", check=False).returncode == 0
    assert in_ns(b.pid, *ping6, "fd5c:1:2::1", check=False).returncode == 0
    with pytest.raises(AddressInUseError):
        driver.attach(netname, "c", sandbox().netns, ipv6="fd5c:1:2::99")


def test_ipv6_address_on_a_v4_only_network_is_refused(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    driver.ensure_network(netname)
    with pytest.raises(InvalidNetworkConfigError, match="no IPv6 subnet"):
        driver.attach(netname, "a", sandbox().netns, ipv6="fd00::5")


# ---------------------------------------------------------------- crash repair (sweep)


def test_sweep_removes_a_bridge_whose_record_is_gone_and_keeps_the_rest(
    driver: RecordingDriver, sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    from netdriver import firewall, owners

    kept = driver.ensure_network(netname + "k")
    lost = driver.ensure_network(netname)
    ep = driver.attach(netname, "a", sandbox().netns)
    # a crash: the record is gone, the bridge, its veth and its rules are not
    (tmp_path / "state" / "networks" / f"{netname}.json").unlink()
    unclaimed = f"pcbr{uuid.uuid4().hex[:11]}"
    subprocess.run(["ip", "link", "add", unclaimed, "type", "bridge"], check=True)
    try:
        other = NetworkDriver(tmp_path / "other")  # another data root sweeps: same result
        assert lost.bridge in other.sweep_orphans()
        assert lost.bridge not in pc_links() and ep.host_ifname not in pc_links()
        assert f"pcnet:{lost.bridge}" not in "\n".join(firewall.all_tagged_rules())
        assert owners.owner_of(lost.bridge) is None
        assert kept.bridge in pc_links() and unclaimed in pc_links()  # recorded / not ours
        assert driver.sweep_orphans() == []  # idempotent
    finally:
        subprocess.run(["ip", "link", "del", unclaimed], check=False)


def test_sweep_after_the_data_root_itself_is_gone(
    sandbox: Callable[[], Sandbox], netname: str, tmp_path: Path
) -> None:
    victim = NetworkDriver(tmp_path / "victim")
    net = victim.ensure_network(netname)
    try:
        shutil.rmtree(tmp_path / "victim")
        assert net.bridge in NetworkDriver(tmp_path / "sweeper").sweep_orphans()
        assert net.bridge not in pc_links()
    finally:
        subprocess.run(["ip", "link", "del", net.bridge], check=False, capture_output=True)


def test_sweep_removes_the_rules_of_a_network_whose_removal_was_killed_half_way(
    netname: str, tmp_path: Path
) -> None:
    """`remove_network` killed after the bridge went but before the rules' removal was
    committed: the claim is the only trace; the sweep must take the rules too (they stayed
    for good, as an exploratory tester's kill -9 of `down` left them)."""
    from netdriver import firewall

    victim = NetworkDriver(tmp_path / "victim")
    net = victim.ensure_network(netname)
    try:
        (tmp_path / "victim" / "networks" / f"{netname}.json").unlink()  # record deleted
        subprocess.run(["ip", "link", "del", net.bridge], check=True)  # bridge deleted
        assert f"pcnet:{net.bridge}" in "\n".join(firewall.all_tagged_rules())
        NetworkDriver(tmp_path / "sweeper").sweep_orphans()
        assert f"pcnet:{net.bridge}" not in "\n".join(firewall.all_tagged_rules())
    finally:
        subprocess.run(["ip", "link", "del", net.bridge], check=False, capture_output=True)
        firewall.remove_network_rules(net.bridge)


def test_host_link_requests_report_the_kernels_refusal_and_are_idempotent() -> None:
    """netdriver.host_links speaks rtnetlink itself (no pyroute2 in the CLI): a refusal is a
    NetlinkError with the kernel's reason, nothing half-made; deleting twice is fine."""
    name = f"pcnt{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(NetlinkError, match="set up bridge: Invalid argument"):
            host_links.ensure_bridge(
                name, ipaddress.IPv4Address("10.251.0.1"), 24, "02:42:0a:fb:00:01", mtu=70000
            )
        assert not host_links.link_exists(name)
        host_links.ensure_bridge(name, ipaddress.IPv4Address("10.251.0.1"), 24, "02:42:0a:fb:00:01",
                                 mtu=1400)
        host_links.ensure_bridge(name, ipaddress.IPv4Address("10.251.0.1"), 24, "02:42:0a:fb:00:01")
        shown = subprocess.run(["ip", "-4", "-o", "addr", "show", name], capture_output=True,
                               text=True, check=True).stdout
        assert shown.count("inet 10.251.0.1/24") == 1  # the second ensure added nothing
        assert host_links.bridge_ready(name, ipaddress.IPv4Address("10.251.0.1"))
        assert ipaddress.IPv4Network("10.251.0.0/24") in host_links.host_networks()
        assert Path(f"/sys/class/net/{name}/mtu").read_text().strip() == "1400"
        assert host_links.delete_link(name) is True
        assert host_links.delete_link(name) is False
    finally:
        subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
