"""Where the CPU of `up -d` and `down -v` of N services goes, by process role, per container.

    sudo .venv/bin/python bench/bench_cpu_roles.py [--services 50] [--repeat 2]

Why: on 2 cores `up` of 50 services keeps both cores busy, so its wall time is its CPU time
over two, and the question is which process spends it. Wall times drift by ±15% from run to
run on a shared machine; CPU per role per container is the steadier number for comparing two
versions of the code. A system-wide `perf record` (cpu-clock samples, 4 kHz) runs around each
command; every sample is put to a role through the process tree perf records (forks, execs):

  cli            the `pycompose` process (all its threads)
  cli children   what the CLI runs (iptables-save/-restore)
  fork server    the supervisors' fork server (engine.supervisor_zygote)
  supervisors    its children: one per container (and the DNS resolver, forked from it too)
  start server   its child that makes every first start but the fork server's first one
                 (engine.start_server: cgroup, network namespace, records)
  start helpers  a supervisor's children that never exec (engine.supervisor_launch: the
                 fork server's first start, restarts)
  containers     a supervisor's descendants that exec: init's set-up before its exec, then
                 the container's processes (docker-init, the command)
  kernel threads kworkers, RCU, softirq (network namespace clean-up, deferred frees)
  idle           both cores' idle time

`down` has no fork server and no helpers: processes that were running before it started are
put to a role by name (pycompose, python3 = supervisors, everything else by its command); a
Python process counts as a supervisor only when its environment names this bench's data root
(others' Python processes on a shared machine count as "other").
Needs `perf` (Debian package linux-perf); without it the bench says so and stops.
Runs on a private data root (a temp dir) with the busybox rootfs the tests use, the stack of
bench_up_down.py (one network, one shared volume, `init: true`), after one untimed `up` and
`down` (the first `up` of a data root unpacks the image). Numbers only.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_up_down import BUSYBOX_SCRIPT, PYCOMPOSE, stack_yaml

from engine.supervisor_zygote import START_SERVER_NAME

SAMPLE_HZ = 4000
_FORK = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")
_COMM = re.compile(r"PERF_RECORD_COMM( exec)?: (.+):(\d+)/\d+")
_ROLES = ("cli", "cli children", "fork server", "supervisors", "start server", "start helpers",
          "containers", "kernel threads", "other", "idle")
_KERNEL_THREAD = re.compile(r"^(kworker|rcu|ksoftirqd|migration|kthreadd|kdamond|khugepaged|"
                            r"kcompactd|jbd2|writeback|cpuhp|watchdog|irq/)")


class Tree:
    """The processes perf saw: parents, names, and which ones exec'd."""

    def __init__(self, cli: int, ours: frozenset[int] = frozenset()) -> None:
        self.ours = ours  # processes of this bench's data root running before the record
        self.parent: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.execd: set[int] = set()
        self.cli = {cli}  # the measured command (other `pycompose` runs may share the machine)

    def event(self, line: str) -> bool:
        fork = _FORK.search(line)
        if fork:
            child, parent = int(fork.group(1)), int(fork.group(2))
            if child != parent:  # a thread's event names its own process twice
                self.parent[child] = parent
                self.names.setdefault(child, self.names.get(parent, "?"))
            return True
        comm = _COMM.search(line)
        if comm:
            pid, name = int(comm.group(3)), comm.group(2)
            self.names[pid] = name
            if comm.group(1):
                self.execd.add(pid)
            return True
        return "PERF_RECORD" in line

    def depth_below_cli(self, pid: int) -> int | None:
        depth, current = 0, pid
        while current not in self.cli:
            if current not in self.parent or depth > 8:
                return None
            current, depth = self.parent[current], depth + 1
        return depth

    def role(self, pid: int, name: str) -> str:
        if pid == 0:
            return "idle"
        depth = self.depth_below_cli(pid)
        if depth == 0:
            return "cli"
        if depth == 1:
            return "fork server" if name.startswith("python") else "cli children"
        if depth == 2:
            return "start server" if name == START_SERVER_NAME else "supervisors"
        if depth is not None:
            return "containers" if self._execd_below_supervisor(pid) else "start helpers"
        if name.startswith(("python", "pycompose")) and pid not in self.ours:
            return "other"
        return _role_by_name(name)

    def _execd_below_supervisor(self, pid: int) -> bool:
        current = pid
        while current in self.parent and self.depth_below_cli(current) not in (None, 2):
            if current in self.execd:
                return True
            current = self.parent[current]
        return False


def _role_by_name(name: str) -> str:
    """Processes perf saw no fork of (running before the command): `down`'s supervisors."""
    if name == "pycompose":
        return "cli"
    if name.startswith("python"):
        return "supervisors"
    if name.startswith("iptables"):
        return "cli children"
    if _KERNEL_THREAD.match(name):
        return "kernel threads"
    if name in ("docker-init", "sleep", "tini", "sh"):
        return "containers"
    return "other"


def processes_of(root: Path) -> frozenset[int]:
    """The pids whose environment names the data root `root` (its supervisors, resolver)."""
    wanted = f"PYCOMPOSE_ROOT={root}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return frozenset(found)


def samples_by_role(
    data: Path, cli: int, ours: frozenset[int] = frozenset()
) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Samples per role, and those of them taken in the kernel."""
    script = subprocess.run(
        ["perf", "script", "-i", str(data), "--show-task-events", "-F", "comm,pid,ip"],
        capture_output=True, text=True, check=True,
    ).stdout
    tree, samples = Tree(cli, ours), []
    for line in script.splitlines():
        if not line.strip() or tree.event(line):
            continue
        fields = line.split()
        if len(fields) < 3 or not fields[-2].isdigit():
            continue
        samples.append((int(fields[-2]), " ".join(fields[:-2]), fields[-1]))
    total: collections.Counter[str] = collections.Counter()
    kernel: collections.Counter[str] = collections.Counter()
    for pid, name, ip in samples:
        role = tree.role(pid, tree.names.get(pid, name))
        total[role] += 1
        if ip.startswith("ffffffff"):
            kernel[role] += 1
    return total, kernel


def record(argv: list[str], cwd: Path, env: dict[str, str], data: Path) -> tuple[float, int]:
    """Run argv under a system-wide perf record; its wall time and its pid (the CLI)."""
    pid_file = data.with_suffix(".pid")
    started = time.monotonic()
    subprocess.run(
        ["perf", "record", "-q", "-a", "-F", str(SAMPLE_HZ), "-o", str(data), "--",
         "sh", "-c", 'echo $$ > "$0"; exec "$@"', str(pid_file), *argv],
        cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started, int(pid_file.read_text())


def report(
    label: str, run: tuple[float, int], services: int, data: Path,
    ours: frozenset[int] = frozenset(),
) -> None:
    wall, cli = run
    total, kernel = samples_by_role(data, cli, ours)
    ms = 1000 / SAMPLE_HZ
    busy = sum(n for role, n in total.items() if role != "idle")
    ours = busy - total["other"]
    print(f"{label}: {wall:.2f} s under perf, {busy * ms:.0f} ms CPU, of which the command's "
          f"{ours * ms:.0f} ms ({ours * ms / services:.1f} ms per container), "
          f"idle {total['idle'] * ms:.0f} ms")
    for role in _ROLES:
        if role == "idle" or not total[role]:
            continue
        share = 100 * total[role] / busy
        print(f"  {role:15s} {total[role] * ms:7.0f} ms  {total[role] * ms / services:6.2f} "
              f"ms/container  {share:4.1f}%  kernel {100 * kernel[role] / total[role]:3.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("perf") is None:
        print("perf is not installed (Debian package linux-perf): nothing measured")
        return
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-roles-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(work / "root")
    stack = work / "stack"
    stack.mkdir()
    (stack / "compose.yaml").write_text(stack_yaml(args.services, init=True))
    command = [PYCOMPOSE, "-p", "cpuroles", "--progress", "quiet"]
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PYCOMPOSE, "image", "import", str(tarball), "busybox"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        # Untimed: the first `up` of a data root unpacks the image's layer, once.
        for verb in (["up", "-d"], ["down", "-v"]):
            subprocess.run([*command, *verb], cwd=stack, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for attempt in range(1, args.repeat + 1):
            data = work / "perf.data"
            run = record([*command, "up", "-d"], stack, env, data)
            report(f"up -d of {args.services} (run {attempt})", run, args.services, data)
            time.sleep(1)  # the containers settle (their resolver, their first log lines)
            ours = processes_of(work / "root")
            run = record([*command, "down", "-v"], stack, env, data)
            report(f"down -v of {args.services} (run {attempt})", run, args.services, data, ours)
    finally:
        subprocess.run([*command, "down", "-v", "-t", "0"], cwd=stack, env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
