"""`pycompose up -d` and `down` of stacks of 1, 10 and 50 services (one network, one shared
named volume, `init: true`): wall time (min of the runs), CPU time, and the CLI's peak memory,
plus import time of the CLI and the per-container cost of a Python start.

    sudo python bench/bench_up_down.py [--sizes 1,10,50] [--repeat 3] [--parallel N]

CPU columns: `cli` is the CLI process itself (user+sys, with what it waited for); `all` adds
the supervisors' fork server, the supervisors and the DNS resolver (everything started from
this process, counted through a cpuacct cgroup of its own, cgroup v1 only). The containers'
own processes, including init's set-up before exec, run in their own cgroups and are not
counted. On a shared machine wall times are noisy: CPU time is the steadier number.

Runs on a private data root (a temp dir) with the busybox rootfs the tests use. docker-compose
v1 (`docker-compose`) is measured beside it on the same stacks only when a dockerd answers on
this host (`--no-docker` skips it); otherwise it says so.
Numbers are printed, never asserted.
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
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The venv's own command (run as `.venv/bin/python bench/...`, PATH need not include it).
PYCOMPOSE = shutil.which("pycompose", path=str(Path(sys.executable).parent)) or "pycompose"
BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"


DOCKER_IMAGE = "pycompose-bench-busybox"


def stack_yaml(count: int, init: bool, image: str = "busybox") -> str:
    lines = ["services:"]
    for i in range(count):
        lines += [
            f"  s{i}:",
            f"    image: {image}",
            '    command: ["sleep", "3600"]',
            "    stop_grace_period: 1s",
            "    volumes: [shared:/data]",
            "    networks: [net]",
        ]
        if init:
            lines.append("    init: true")
    lines += ["networks:", "  net: {}", "volumes:", "  shared: {}", ""]
    return "\n".join(lines)


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuMeter:
    """CPU time of this process and everything it starts (detached ones too: supervisors, the
    resolver), through a cpuacct cgroup (v1) this process moves into; None where unavailable."""

    def __init__(self, enabled: bool = True) -> None:
        self.group: Path | None = None
        if not enabled or not (CPUACCT / "cpuacct.usage").exists():
            return
        group = CPUACCT / f"pycompose-bench-{os.getpid()}"
        try:
            group.mkdir()
            (group / "tasks").write_text(str(os.getpid()))
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
            return
        self.group = group

    def seconds(self) -> float | None:
        if self.group is None:
            return None
        return int((self.group / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        """Move us and whatever still lingers (an idle fork server or resolver) back to the
        root group, then remove ours."""
        if self.group is None:
            return
        for _ in range(50):
            for pid in (self.group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (CPUACCT / "cgroup.procs").write_text(pid)
            with contextlib.suppress(OSError):
                self.group.rmdir()
                break
            time.sleep(0.1)
        self.group = None


@dataclass
class Run:
    wall: float
    cli_cpu: float
    all_cpu: float | None
    rss_mib: float


def timed(argv: list[str], cwd: Path, env: dict[str, str], meter: CpuMeter) -> Run:
    """Wall seconds, CPU seconds (the CLI; everything) and the CLI's peak RSS of one command."""
    before = meter.seconds()
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{err}")
    after = meter.seconds()
    everything = None if before is None or after is None else after - before
    return Run(wall, usage.ru_utime + usage.ru_stime, everything, usage.ru_maxrss / 1024)


def summary(runs: list[Run]) -> str:
    """min wall, min CPU (cli / all) over the runs."""
    wall = min(r.wall for r in runs)
    cli = min(r.cli_cpu for r in runs)
    totals = [r.all_cpu for r in runs if r.all_cpu is not None]
    total = f"{min(totals):5.2f}" if totals else "    -"
    return f"{wall:7.2f} {cli:5.2f} {total}"


def import_time(env: dict[str, str]) -> float:
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [PYCOMPOSE, "--help"], env=env, stdout=subprocess.DEVNULL, check=True
        )
        runs.append(time.perf_counter() - start)
    return min(runs)


def supervisor_spawn_cost() -> float:
    """What one interpreter start loading the supervisor costs here, as the supervisors' fork
    server does it (`python -S`, then its core preload): it pays that once per CLI run (each
    container's supervisor is forked from it)."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-S", "-c",
             "from engine import supervisor_zygote as z\nz._preload_core()"],
            cwd=REPO,
            check=True,
            # as the server runs: no `site`, the CLI's sys.path given instead
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path[1:]])},
        )
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def dockerd_running() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return probe.returncode == 0


def measure_row(
    count: int, bases: list[list[str]], directory: Path, env: dict[str, str], meter: CpuMeter
) -> None:
    """One table row: each base command (one project per repeat) goes `up -d`, `up -d` again
    and `down -v`; the row shows the best of each."""
    ups: list[Run] = []
    reups: list[Run] = []
    downs: list[Run] = []
    for base in bases:
        ups.append(timed([*base, "up", "-d"], directory, env, meter))
        reups.append(timed([*base, "up", "-d"], directory, env, meter))
        downs.append(timed([*base, "down", "-v"], directory, env, meter))
    peak = max(r.rss_mib for r in ups + reups + downs)
    print(f"{count:>8} {summary(ups)} {summary(reups)} {summary(downs)} {peak:>4.0f}")


def docker_compose_peer(work: Path, tarball: Path, sizes: list[int], repeat: int,
                        init: bool) -> None:
    """The same stacks with docker-compose v1 on dockerd (the issue's reference peer), each
    run printed beside ours. Its `cli` CPU is docker-compose's own; dockerd's and containerd's
    work is not counted, so there is no `all` column."""
    compose = shutil.which("docker-compose")
    if compose is None:
        print("docker-compose: not measured — dockerd answers but `docker-compose` (Debian "
              "package docker-compose, v1) is not installed")
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    subprocess.run(["docker", "import", str(tarball), DOCKER_IMAGE], check=True,
                   stdout=subprocess.DEVNULL)
    meter = CpuMeter(enabled=False)
    started: list[tuple[str, Path]] = []
    try:
        print("docker-compose v1 on dockerd, same stacks:")
        for count in sizes:
            directory = work / f"docker-stack{count}"
            directory.mkdir()
            (directory / "docker-compose.yml").write_text(stack_yaml(count, init, DOCKER_IMAGE))
            projects = [f"pcbenchdc{count}x{attempt}" for attempt in range(repeat)]
            started.extend((project, directory) for project in projects)
            measure_row(count, [[compose, "-p", p, "--ansi", "never"] for p in projects],
                        directory, env, meter)
    finally:
        for project, directory in started:
            subprocess.run([compose, "-p", project, "down", "-v", "-t", "0"], cwd=directory,
                           env=env, check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        subprocess.run(["docker", "rmi", DOCKER_IMAGE], check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", default=None, help="pycompose --parallel")
    parser.add_argument("--no-init", action="store_true", help="leave `init: true` out")
    parser.add_argument("--no-docker", action="store_true",
                        help="skip the docker-compose peer even where dockerd answers")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-up-down-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(work / "root")
    started: list[tuple[str, Path]] = []
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [PYCOMPOSE, "image", "import", str(tarball), "busybox"],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )
        print(f"pycompose --help (import + parse): {import_time(env) * 1000:.0f} ms")
        print(f"one Python start loading the supervisor as the fork server does: "
              f"{supervisor_spawn_cost() * 1000:.0f} ms (the fork server pays it once per CLI run)")
        print(f"{'':>8} {'up -d':^19} {'re-up':^19} {'down -v':^19} {'MiB':>4}")
        print(f"{'services':>8}" + f" {'wall s':>7} {'cli':>5} {'all':>5}" * 3 + f" {'peak':>4}")
        extra = ["--parallel", args.parallel] if args.parallel else []
        meter = CpuMeter()
        try:
            for count in sizes:
                directory = work / f"stack{count}"
                directory.mkdir()
                (directory / "compose.yaml").write_text(stack_yaml(count, not args.no_init))
                projects = [f"bench{count}x{attempt}" for attempt in range(args.repeat)]
                started.extend((project, directory) for project in projects)
                measure_row(count, [[PYCOMPOSE, "-p", p, "--progress", "quiet", *extra]
                                    for p in projects], directory, env, meter)
        finally:
            meter.close()
        if args.no_docker:
            pass
        elif dockerd_running():
            docker_compose_peer(work, tarball, sizes, args.repeat, not args.no_init)
        else:
            print("docker-compose: not measured — no dockerd is running on this host "
                  "(reference from the issue: v1 on this machine kind: 50 services up 7.7 s, "
                  "down 4.0 s; 10: 2.0 s / 1.2 s; 1: 0.64 s / 0.64 s)")
    finally:
        for project, directory in started:  # a failed run must not leave containers behind
            subprocess.run(
                [PYCOMPOSE, "-p", project, "--progress", "quiet", "down", "-v", "-t", "0"],
                cwd=directory, env=env, check=False, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
