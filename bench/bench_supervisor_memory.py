"""Supervisor memory and start latency with 1, 10 and 50 running containers, runc beside it.

Run as root:  python bench/bench_supervisor_memory.py [--sizes 1,10,50] [--network bridge]

For each size N it starts N `sleep` containers through the engine API on a private data root
(`network_mode: none`, or attached to a bridge the bench makes per size with `--network bridge`,
as `up` makes a project's network before its containers) and
reports, from /proc/<pid>/smaps_rollup:
  * the engine's resident processes per container: the supervisors, and the data root's DNS
    resolver when it runs (bridge networks; one per data root, so its PSS is shared by N),
    total PSS / N, mean RSS and USS. Twice: right after the starts, while the fork server
    still runs (it shares its pages with the supervisors and is shown on its own line), and in
    the steady state, once it has exited (it idles out 2 s after the last start; the bench
    lets it go at once): then pages only it shared with a supervisor are that supervisor's
    alone. The steady state is what a running stack costs.
  * the container inits, separately (they are the workload, not the supervision),
  * start latency: engine `start_container` (spawn request to "running") min / median,
  * after everything is removed: whether any engine process stays resident.
Where runc is installed, N (up to 10) `runc run` in the foreground (runc stays resident as the
container's parent, like a shim) are measured the same way. containerd-shim is reported when
one is running on the host. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from process_memory import Memory  # noqa: E402
from runc_bundle import make_runc_bundle  # noqa: E402  (bench/ is on sys.path as a script)

from engine.api import ContainerSpec, Engine, NetworkAttachment  # noqa: E402

BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"
ENGINE_MARKERS = (b"engine.supervisor",)



def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _cpu_ms(before: os.times_result, after: os.times_result) -> float:
    return (after.user + after.system - before.user - before.system) * 1000


def cpu_ms_of(pid: int) -> float | None:
    """CPU time of a process and its reaped children (the network helpers), in ms."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2:].split()
    return sum(int(f) for f in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def zygote_pid() -> int | None:
    """This process's supervisor fork server, while it runs (it idles out)."""
    from engine.supervisor_spawner import SPAWNER

    pid = SPAWNER._pid  # posix_spawn'ed: a pid, reaped by the spawner
    if pid is None:
        return None
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return pid if done == 0 else None


def alive(pids: list[int]) -> list[int]:
    """Those of `pids` that still run an engine supervisor (not a reused pid)."""
    return [pid for pid in pids if any(m in _cmdline(pid) for m in ENGINE_MARKERS)]


def resolver_pids(root: Path) -> list[int]:
    """The DNS resolver of this data root, when one runs (bridge networks only): the process
    holding the root's control socket (it is forked from the supervisors' fork server, so its
    command line is the fork server's, not `engine.dns_server ROOT`)."""
    from engine.dns_control import control_address

    name = "@" + control_address(root)[1:]
    inodes = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7] == name:
            inodes.add(f"socket:[{fields[6]}]")
    found = []
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
                   for fd in os.listdir(f"/proc/{pid}/fd")):
                found.append(pid)
        except OSError:
            continue
    return found


def _wait_gone(pids: list[int]) -> None:
    """Until `pids` exit (the resolver leaves once its data root has no network), at most 10 s."""
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def summarize(label: str, pids: list[int], count: int) -> None:
    memories = [m for m in (Memory.of(pid) for pid in pids) if m is not None]
    if not memories:
        print(f"  {label:<28} none")
        return
    pss = sum(m.pss for m in memories)
    rss = statistics.mean(m.rss for m in memories)
    uss = statistics.mean(m.uss for m in memories)
    print(f"  {label:<28} PSS/container {pss / count / 1024:6.2f} MB   "
          f"({len(memories)} procs: mean RSS {rss / 1024:6.2f} MB, mean USS {uss / 1024:6.2f} MB)")


def measure_engine(engine: Engine, root: Path, count: int, network: str | None) -> None:
    ids = []
    latencies = []
    cpu_before = os.times()
    for index in range(count):
        attach = (NetworkAttachment(network),) if network else ()
        info = engine.create_container(ContainerSpec(
            name=f"mem{count}-{index}", image="busybox", command=("sleep", "3600"),
            network_mode="bridge" if network else "none", networks=attach,
        ))
        began = time.perf_counter()
        engine.start_container(info.id)
        latencies.append(time.perf_counter() - began)
        ids.append(info.id)
    cpu_after = os.times()
    time.sleep(0.5)  # let every supervisor settle into its loop
    states = [engine.inspect(cid).state for cid in ids]
    supervisors = [s.supervisor_pid for s in states if s.supervisor_pid]
    inits = [s.pid for s in states if s.pid]
    zygote = zygote_pid()
    others = [zygote] if zygote is not None and zygote not in supervisors else []
    ms = sorted(x * 1000 for x in latencies)
    print(f"N={count} containers ({'bridge ' + network if network else 'network none'})")
    print(f"  start_container latency      min {ms[0]:6.1f} ms  median "
          f"{statistics.median(ms):6.1f} ms  max {ms[-1]:6.1f} ms  (caller CPU "
          f"{_cpu_ms(cpu_before, cpu_after) / count:5.1f}"
          " ms/container)")
    cpu = [c for c in (cpu_ms_of(pid) for pid in supervisors) if c is not None]
    if cpu:
        print(f"  supervisor CPU to start      mean {statistics.mean(cpu):6.1f} ms (with helpers)")
    resolvers = resolver_pids(root)
    summarize("supervisors", sorted(set(supervisors)), count)
    if others:
        summarize("fork server (zygote)", others, count)
    summarize("all engine processes", sorted(set(supervisors) | set(others) | set(resolvers)),
              count)
    summarize("container inits (workload)", inits, count)
    from engine.supervisor_spawner import SPAWNER

    SPAWNER.close()  # the steady state: the fork server has gone (it idles out anyway)
    time.sleep(0.3)
    print("  steady state (fork server gone):")
    summarize("supervisors", sorted(set(supervisors)), count)
    if resolvers:
        summarize("DNS resolver (per data root)", resolvers, count)
    summarize("all engine processes", sorted(set(supervisors) | set(resolvers)), count)
    for cid in ids:
        engine.remove_container(cid, force=True)
    deadline = time.monotonic() + 10
    while alive(supervisors + others) and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"  resident after removing all  {len(alive(supervisors + others))} engine processes")



def measure_runc(bundle: Path, count: int) -> None:
    names = [f"benchmem{os.getpid()}-{count}-{i}" for i in range(count)]
    procs = [
        subprocess.Popen(["runc", "run", "--bundle", str(bundle), name],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        for name in names
    ]
    try:
        time.sleep(1.0 + 0.1 * count)
        summarize(f"runc run (foreground) N={count}", [p.pid for p in procs], count)
    finally:
        for name in names:
            subprocess.run(["runc", "kill", name, "KILL"], check=False,
                           stderr=subprocess.DEVNULL)
        for proc in procs:
            proc.wait(timeout=30)
        for name in names:
            subprocess.run(["runc", "delete", "--force", name], check=False,
                           stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--network", choices=("none", "bridge"), default="none")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="pycompose-bench-"))
    engine: Engine | None = None
    network = f"bm{os.getpid()}" if args.network == "bridge" else None
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        root = work / "root"
        engine = Engine(root)
        engine.import_image(tarball, "busybox:latest")
        for count in sizes:
            if network:  # made per size, as `up` makes it: its resolver starts with the stack
                engine.ensure_network(network)
            measure_engine(engine, root, count, network)
            if network:
                engine.remove_network(network)
                _wait_gone(resolver_pids(root))
        shims = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                 if b"containerd-shim" in _cmdline(pid)]
        if shims:
            summarize("containerd-shim (host)", shims, len(shims))
        if shutil.which("runc"):
            bundle = make_runc_bundle(tarball, work, ["sleep", "3600"], readonly=True)
            for count in sizes:
                if count <= 10:
                    measure_runc(bundle, count)
        else:
            print("  runc not installed")
    finally:
        if engine is not None:
            for info in engine.list_containers():
                engine.remove_container(info.id, force=True)
            if network:
                with contextlib.suppress(Exception):  # removed already unless a size failed
                    engine.remove_network(network)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
