"""Network benchmark: TCP throughput container<->container on one bridge vs the host's
loopback (iperf3 from Debian, the host's /usr bind-mounted read-only into busybox; loopback
measured between two ``network_mode: host`` containers, and from bare host processes), the time
to attach N network namespaces to a bridge, and a leak check over up/down cycles of a
3-network project through the CLI.

Run as root:  python bench/bench_network.py [--seconds 5] [--attach 50] [--cycles 50]
Where a Docker daemon answers (`docker version`), Docker's bridge is measured in the same runs
as a peer column (`--no-docker` skips it).
`--no-rps-column` adds our bridge with the driver's receive steering turned off on its ports
(what Docker's bridge does): an A/B of netdriver.offload under the same background load.
Reports numbers only; nothing asserts on wall time. Traffic stays on loopback and on the
bridge this script creates.

Next to Gbit/s each measurement prints its CPU cost, sender + receiver CPU seconds per GB
moved (iperf3's own accounting; it includes the network stack's softirq work done in their
context): on a shared host the throughput ratio swings with whatever else runs, the cost per
byte much less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The venv's own command (run as `.venv/bin/python bench/...`, PATH need not include it).
PYCOMPOSE = shutil.which("pycompose", path=str(Path(sys.executable).parent)) or "pycompose"
sys.path.insert(0, str(REPO))

from engine.api import (  # noqa: E402
    ContainerSpec,
    Engine,
    MountKind,
    MountSpec,
    NetworkAttachment,
    NetworkOptions,
)
from netdriver import firewall, names  # noqa: E402
from netdriver.api import NetworkDriver  # noqa: E402
from netdriver.host_links import bridge_ports  # noqa: E402
from tests.leaks import kernel_snapshot  # noqa: E402

BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"
LOADER = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
IPERF = (LOADER, "--library-path", "/usr/lib/x86_64-linux-gnu", "/usr/bin/iperf3")


@dataclass(frozen=True)
class Measured:
    """One iperf3 run: throughput, and what it cost (sender + receiver CPU s per GB)."""

    gbits: float
    cpu_per_gb: float

    def __str__(self) -> str:
        return f"{self.gbits:6.2f} Gbit/s {self.cpu_per_gb:.3f} cpu-s/GB"


def _measured(report: dict[str, object], seconds: int) -> Measured:
    end = report["end"]
    assert isinstance(end, dict)
    gbits = float(end["sum_received"]["bits_per_second"]) / 1e9
    cpu = end["cpu_utilization_percent"]
    cpu_seconds = (float(cpu["host_total"]) + float(cpu["remote_total"])) / 100 * seconds
    return Measured(gbits, cpu_seconds / max(gbits / 8 * seconds, 1e-9))


def host_loopback(seconds: int) -> Measured:
    port = "5299"
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", port], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = subprocess.run(
            ["iperf3", "-c", "127.0.0.1", "-p", port, "-t", str(seconds), "-J"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        server.wait(timeout=30)
    return _measured(json.loads(out), seconds)


def _container_pair(engine: Engine, seconds: int, net: str | None, *,
                    steering: bool = True) -> Measured:
    """iperf3 server and client in two of our containers: on bridge ``net``, or (None) both
    with ``network_mode: host`` talking over 127.0.0.1. ``steering=False`` turns the
    driver's receive steering off on the bridge's ports (netdriver.offload) before the client
    connects: the same pair as Docker would wire it, for an A/B in the same run."""
    usr = (MountSpec(MountKind.BIND, "/usr", "/usr", read_only=True),)
    tag = net or f"host-{uuid.uuid4().hex[:6]}"
    try:
        server = engine.create_container(ContainerSpec(
            name=f"iperf-s-{tag}", image="busybox", command=(*IPERF, "-s", "-1", "-p", "5298"),
            networks=(NetworkAttachment(net, ("iperf",)),) if net else (),
            network_mode="bridge" if net else "host", mounts=usr,
        ))
        server = engine.start_container(server.id)
        ip = server.state.addresses[net] if net else "127.0.0.1"
        client = engine.create_container(ContainerSpec(
            name=f"iperf-c-{tag}", image="busybox",
            command=("sh", "-c",
                     f"sleep 0.3; exec {' '.join(IPERF)} -c {ip} -p 5298 -t {seconds} -J"),
            networks=(NetworkAttachment(net, ()),) if net else (),
            network_mode="bridge" if net else "host", mounts=usr,
        ))
        engine.start_container(client.id)
        if net and not steering:  # within the client's 0.3 s sleep
            bridge = engine.networks.get_network(net).bridge
            for port in bridge_ports(bridge):
                Path(f"/sys/class/net/{port}/queues/rx-0/rps_cpus").write_text("0")
        engine.wait_container(client.id, timeout=seconds + 60)
        out = "".join(line.text for line in engine.logs(client.id))
        return _measured(json.loads(out), seconds)
    finally:
        for info in engine.list_containers():
            engine.remove_container(info.id, force=True)


def container_loopback(engine: Engine, seconds: int) -> Measured:
    """The host's loopback, but from two host-network containers: the same cgroups, seccomp
    and loader as the bridge pair, so a busy host's scheduler treats both alike (bare host
    processes compete with everything else in the root cgroup and lose under load)."""
    return _container_pair(engine, seconds, None)


def bridge_throughput(engine: Engine, seconds: int, mtu: int | None = None, *,
                      steering: bool = True) -> Measured:
    net = f"bench_{uuid.uuid4().hex[:6]}"
    engine.ensure_network(net, labels={}, options=NetworkOptions(mtu=mtu))
    try:
        return _container_pair(engine, seconds, net, steering=steering)
    finally:
        engine.remove_network(net)


DOCKER_IMAGE = "pycompose-bench-busybox:latest"


def docker_reachable() -> bool:
    """A peer column only where a Docker daemon answers; the bench works without one."""
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                          capture_output=True, text=True, check=False, timeout=20)
    return done.returncode == 0


def _docker(*args: str, timeout: float = 120) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True,
                          timeout=timeout).stdout.strip()


def docker_bridge_throughput(seconds: int, mtu: int | None = None) -> Measured:
    """The same iperf3 pair on a Docker user-defined bridge network (Docker's peer number)."""
    net = f"pcbench_{uuid.uuid4().hex[:6]}"
    opts = [] if mtu is None else ["-o", f"com.docker.network.driver.mtu={mtu}"]
    _docker("network", "create", *opts, net)
    run = ["run", "--network", net, "-v", "/usr:/usr:ro"]
    try:
        _docker(*run, "-d", "--name", f"{net}-s", DOCKER_IMAGE, *IPERF, "-s", "-1")
        template = f'{{{{(index .NetworkSettings.Networks "{net}").IPAddress}}}}'
        ip = _docker("inspect", "-f", template, f"{net}-s")
        out = _docker(*run, "--name", f"{net}-c", DOCKER_IMAGE, "/bin/sh", "-c",
                      f"sleep 0.3; exec {' '.join(IPERF)} -c {ip} -t {seconds} -J",
                      timeout=seconds + 60)
        return _measured(json.loads(out), seconds)
    finally:
        subprocess.run(["docker", "rm", "-f", f"{net}-s", f"{net}-c"], capture_output=True,
                       check=False, timeout=60)
        subprocess.run(["docker", "network", "rm", net], capture_output=True, check=False,
                       timeout=60)


def attach_times(root: Path, count: int) -> list[float]:
    """Milliseconds per NetworkDriver.attach into fresh network namespaces."""
    driver = NetworkDriver(root / "networks")
    net = f"bench_{uuid.uuid4().hex[:6]}"
    driver.ensure_network(net)
    holders = [subprocess.Popen(["unshare", "-n", "sleep", "120"]) for _ in range(count)]
    times: list[float] = []
    try:
        time.sleep(0.5)  # let every `unshare` reach its new namespace
        for index, proc in enumerate(holders):
            start = time.perf_counter()
            driver.attach(net, f"ep{index}", f"/proc/{proc.pid}/ns/net", names=(f"c{index}",))
            times.append((time.perf_counter() - start) * 1000)
        for index in range(count):
            driver.detach(net, f"ep{index}")
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()
        driver.remove_network(net)
    return times


STACK = """
services:
  a:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    ports: ["80"]
    networks: [one, two, three]
  b:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [two]
  c:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [three]
networks:
  one: {}
  two: {}
  three:
    internal: true
"""


def leak_cycles(root: Path, tarball: Path, cycles: int) -> tuple[float, dict[str, list[str]]]:
    """Seconds per `up -d` of the cycles, and what the cycles left behind (links, mounts, cgroups,
    netns, supervisor/resolver processes, and our iptables rules)."""
    directory = Path(tempfile.mkdtemp(prefix="pcnet-stack-"))
    (directory / "compose.yaml").write_text(textwrap.dedent(STACK))
    env = {**os.environ, "PYCOMPOSE_ROOT": str(root)}

    def cli(*args: str) -> None:
        done = subprocess.run([PYCOMPOSE, "-p", "leakbench", *args], cwd=directory, env=env,
                              check=False, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise SystemExit(f"pycompose {' '.join(args)} failed: {done.stderr.strip()}")

    cli("image", "import", str(tarball), "busybox")
    before, rules_before = kernel_snapshot(), set(firewall.all_tagged_rules())
    ours: set[str] = {str(root)}  # other sessions may run on this kernel: count only ours
    engine = Engine(root)
    up_total = 0.0
    try:
        for _ in range(cycles):
            start = time.perf_counter()
            cli("up", "-d")
            up_total += time.perf_counter() - start
            for info in engine.list_containers():
                ours.add(info.id)
                for net in engine.networks.list_networks():
                    ours.update({net.bridge, names.host_veth_name(net.id, info.id)})
            cli("down")
    finally:  # a failed cycle must not strand containers and bridges of a deleted root
        subprocess.run([PYCOMPOSE, "-p", "leakbench", "down"], cwd=directory, env=env,
                       check=False, capture_output=True, timeout=300)
    per_cycle = up_total / max(cycles, 1)
    time.sleep(1.5)  # the resolver's idle check
    leaked = {
        kind: [item for item in items if any(mark in item for mark in ours)]
        for kind, items in kernel_snapshot().leaked_since(before).items()
    }
    leaked = {kind: items for kind, items in leaked.items() if items}
    extra_rules = [r for r in set(firewall.all_tagged_rules()) - rules_before
                   if any(mark in r for mark in ours)]
    if extra_rules:
        leaked["rules"] = sorted(extra_rules)
    shutil.rmtree(directory, ignore_errors=True)
    return per_cycle, leaked


def throughput_runs(engine: Engine, seconds: int, runs: int, mtus: list[int],
                    docker: bool, unsteered: bool = False) -> None:
    """Loopback, ours (and Docker's bridge where dockerd is reachable) measured back to back in
    each run, so every ratio compares numbers taken under the same background load; the median
    ratio is the headline."""
    variants: list[int | None] = [None, *mtus]
    ratios: dict[tuple[str, int | None], list[float]] = {}
    costs: dict[tuple[str, int | None], list[float]] = {}
    peers = ["ours", *(["ours, no RPS"] if unsteered else []), *(["docker"] if docker else [])]
    for run in range(1, runs + 1):
        bare = host_loopback(seconds)
        loop = container_loopback(engine, seconds)
        costs.setdefault(("loopback", None), []).append(loop.cpu_per_gb)
        ratios.setdefault(("bare loopback", None), []).append(bare.gbits / loop.gbits)
        line = [f"run {run}: loopback {loop} (bare host processes {bare.gbits:6.2f} Gbit/s)"]
        for mtu in variants:
            for peer in peers:
                if peer.startswith("ours"):
                    bridge = bridge_throughput(engine, seconds, mtu, steering=peer == "ours")
                else:
                    bridge = docker_bridge_throughput(seconds, mtu)
                ratios.setdefault((peer, mtu), []).append(bridge.gbits / loop.gbits)
                costs.setdefault((peer, mtu), []).append(bridge.cpu_per_gb)
                label = {"ours": "bridge", "docker": "docker bridge"}.get(peer, "bridge no RPS")
                label += "" if mtu is None else f" mtu {mtu}"
                line.append(f"{label} {bridge} ({bridge.gbits / loop.gbits:.2f})")
        print("; ".join(line), flush=True)
    for (peer, mtu), values in ratios.items():
        label = "MTU 1500 (Docker's default)" if mtu is None else f"MTU {mtu}"
        if peer == "bare loopback":
            print(f"loopback from bare host processes: median {statistics.median(values):.2f} "
                  "of the host-network containers' (the ratios below use the latter)")
            continue
        who = {"ours": "TCP container<->container", "docker": "Docker's bridge (peer)"}.get(
            peer, "TCP container<->container without receive steering (A/B)")
        print(f"{who}, {label}: median {statistics.median(values):.2f} "
              f"of loopback (min {min(values):.2f}, max {max(values):.2f}; Docker's: 0.76)")
    for (peer, mtu), values in costs.items():
        label = peer if mtu is None else f"{peer} mtu {mtu}"
        print(f"CPU per GB, {label}: min {min(values):.3f} s, median "
              f"{statistics.median(values):.3f} s (lower is better)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--attach", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--runs", type=int, default=3,
                        help="throughput runs, loopback and bridge interleaved (noisy hosts)")
    parser.add_argument("--mtu", type=int, action="append", default=[],
                        help="also measure a bridge network with this MTU (driver_opts "
                             "com.docker.network.driver.mtu); repeatable")
    parser.add_argument("--no-rps-column", action="store_true",
                        help="also measure our bridge with receive steering (RPS) turned off on "
                             "its ports, in the same runs (A/B of netdriver.offload)")
    parser.add_argument("--no-docker", action="store_true",
                        help="skip the Docker peer column even where dockerd is reachable")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pcnet-bench-"))
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        engine = Engine(work / "root")
        engine.import_image(tarball, "busybox:latest")
        if not args.skip_throughput:
            if shutil.which("iperf3") is None:
                print("iperf3 not installed (apt-get install iperf3): throughput skipped")
            else:
                docker = not args.no_docker and docker_reachable()
                if docker:
                    _docker("import", str(tarball), DOCKER_IMAGE)
                try:
                    throughput_runs(engine, args.seconds, args.runs, args.mtu, docker,
                                    args.no_rps_column)
                finally:
                    if docker:
                        subprocess.run(["docker", "rmi", DOCKER_IMAGE], capture_output=True,
                                       check=False, timeout=60)
        if args.attach:
            times = attach_times(work / "attach-root", args.attach)
            p90 = sorted(times)[int(len(times) * 0.9) - 1]
            print(f"attach {len(times)} netns to one bridge: median "
                  f"{statistics.median(times):.2f} ms, p90 {p90:.2f} ms, max {max(times):.2f} ms")
        if args.cycles:
            per_cycle, leaked = leak_cycles(work / "leak-root", tarball, args.cycles)
            print(f"{args.cycles} up/down cycles of a 3-network project: up {per_cycle:.2f} s; "
                  f"leaked: {leaked or 'nothing'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
