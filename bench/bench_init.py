"""What `init: true` costs per container: tini as /sbin/docker-init (Docker's way) against the
built-in Python init (the fallback where no tini is installed).

    sudo .venv/bin/python bench/bench_init.py [--services 50] [--repeat 3]

For each init kind (chosen with PYCOMPOSE_INIT_PATH: unset = tini, empty = built-in), one
project of the bench_up_down stack (N `sleep` services, one network, one volume, `init: true`)
goes `up -d` then `down -v`, `--repeat` times. Printed, min over the runs:
  * machine CPU over `up -d` (user+sys of every CPU, /proc/stat delta: includes whatever else
    runs on the machine, hence the min),
  * the CLI's own CPU, and everything it started (supervisors, fork server, resolver: a
    cpuacct cgroup, as in bench_up_down),
  * the containers' own CPU per container (their cpuacct groups: stage1's leftovers, init's
    set-up before exec, the init, the command), read once all are running,
  * memory per container: PSS of every process in the container (init + command), and of pid 1.
A third row, `none`, is the same stack without `init: true` (the command is pid 1).
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_up_down import BUSYBOX_SCRIPT, PYCOMPOSE, CpuMeter, stack_yaml, timed
from bench.process_memory import Memory

# PYCOMPOSE_INIT_PATH per kind (None: unset); "none" is the stack without `init: true`.
KINDS = {"tini": None, "builtin": "", "none": None}


def machine_busy_jiffies() -> int:
    """user+nice+system+irq+softirq+steal of all CPUs (idle and iowait left out)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal


def cgroup_dir(pid: int, controller: str) -> Path | None:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup") / controllers / path.lstrip("/")
    return None


def container_numbers(root: Path, project: str) -> tuple[float, float, float, int]:
    """(CPU s per container, PSS kB per container, PSS kB of its init, containers seen)."""
    from engine.api import Engine

    engine = Engine(root)
    cpu = pss = init_pss = 0.0
    seen = 0
    for info in engine.list_containers({"com.docker.compose.project": project}):
        pid = info.state.pid
        group = cgroup_dir(pid, "cpuacct") if pid else None
        if pid is None or group is None:
            continue
        seen += 1
        cpu += int((group / "cpuacct.usage").read_text()) / 1e9
        for member in (group / "cgroup.procs").read_text().split():
            memory = Memory.of(int(member))
            pss += memory.pss if memory else 0
        init = Memory.of(pid)
        init_pss += init.pss if init else 0
    count = max(seen, 1)
    return cpu / count, pss / count, init_pss / count, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-init-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(work / "root")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ticks = os.sysconf("SC_CLK_TCK")
    started: list[tuple[str, Path, dict[str, str]]] = []
    for kind in KINDS:
        (work / kind).mkdir()
        (work / kind / "compose.yaml").write_text(stack_yaml(args.services, kind != "none"))
    meter = CpuMeter()
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PYCOMPOSE, "image", "import", str(tarball), "busybox"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"{args.services} services; min of {args.repeat} runs")
        print(f"{'init':>8} {'up wall':>8} {'machine':>8} {'cli':>6} {'all':>6} "
              f"{'ctr CPU ms':>10} {'ctr PSS kB':>10} {'init PSS kB':>11}")
        for kind, path in KINDS.items():
            kind_env, directory = dict(env), work / kind
            if path is not None:
                kind_env["PYCOMPOSE_INIT_PATH"] = path
            rows = []
            for attempt in range(args.repeat):
                project = f"benchinit{kind}{attempt}"
                base = [PYCOMPOSE, "-p", project, "--progress", "quiet"]
                started.append((project, directory, kind_env))
                before = machine_busy_jiffies()
                run = timed([*base, "up", "-d"], directory, kind_env, meter)
                machine = (machine_busy_jiffies() - before) / ticks
                time.sleep(1.0)  # let every command reach `sleep` before reading memory
                cpu, pss, init_pss, seen = container_numbers(work / "root", project)
                assert seen == args.services, f"{seen} containers running of {args.services}"
                rows.append((run.wall, machine, run.cli_cpu, run.all_cpu or 0.0,
                             cpu * 1000, pss, init_pss))
                timed([*base, "down", "-v", "-t", "1"], directory, kind_env, meter)
            best = [min(column) for column in zip(*rows, strict=True)]
            print(f"{kind:>8} {best[0]:8.2f} {best[1]:8.2f} {best[2]:6.2f} {best[3]:6.2f} "
                  f"{best[4]:10.1f} {best[5]:10.0f} {best[6]:11.0f}")
    finally:
        meter.close()
        for project, directory, kind_env in started:
            subprocess.run([PYCOMPOSE, "-p", project, "--progress", "quiet", "down", "-v",
                            "-t", "0"], cwd=directory, env=kind_env, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
