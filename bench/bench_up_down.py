"""`pycompose up -d` and `down` of stacks of 1, 10 and 50 services (one network, one shared
named volume, `init: true`): wall time and the CLI's peak memory, plus import time of the CLI
and the per-container cost of the engine's supervisor spawn.

    sudo python bench/bench_up_down.py [--sizes 1,10,50] [--repeat 2] [--parallel N]

Runs on a private data root (a temp dir) with the busybox rootfs the tests use. docker-compose
is measured beside it only when a dockerd answers on this host; otherwise it says so.
Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"


def stack_yaml(count: int, init: bool) -> str:
    lines = ["services:"]
    for i in range(count):
        lines += [
            f"  s{i}:",
            "    image: busybox",
            '    command: ["sleep", "3600"]',
            "    stop_grace_period: 1s",
            "    volumes: [shared:/data]",
            "    networks: [net]",
        ]
        if init:
            lines.append("    init: true")
    lines += ["networks:", "  net: {}", "volumes:", "  shared: {}", ""]
    return "\n".join(lines)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of the command and the children it waited for, stderr)."""
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
    return wall, usage.ru_maxrss / 1024, err


def import_time(env: dict[str, str]) -> float:
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            ["pycompose", "--help"], env=env, stdout=subprocess.DEVNULL, check=True
        )
        runs.append(time.perf_counter() - start)
    return min(runs)


def supervisor_spawn_cost() -> float:
    """What one `python -m engine.supervisor_launch`-style interpreter start costs here."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import engine.supervisor"],
            cwd=REPO,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def dockerd_running() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return probe.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--parallel", default=None, help="pycompose --parallel")
    parser.add_argument("--no-init", action="store_true", help="leave `init: true` out")
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
            ["pycompose", "image", "import", str(tarball), "busybox"],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )
        print(f"pycompose --help (import + parse): {import_time(env) * 1000:.0f} ms")
        print(f"one Python start importing engine.supervisor: "
              f"{supervisor_spawn_cost() * 1000:.0f} ms (paid once per container start)")
        print(f"{'services':>8} {'up -d s':>9} {'up MiB':>7} {'re-up s':>8} {'down s':>8} "
              f"{'down MiB':>9}")
        extra = ["--parallel", args.parallel] if args.parallel else []
        for count in sizes:
            directory = work / f"stack{count}"
            directory.mkdir()
            (directory / "compose.yaml").write_text(stack_yaml(count, not args.no_init))
            ups, reups, downs, up_mem, down_mem = [], [], [], 0.0, 0.0
            for attempt in range(args.repeat):
                project = f"bench{count}x{attempt}"
                started.append((project, directory))
                base = ["pycompose", "-p", project, "--progress", "quiet", *extra]
                wall, mem, _ = timed([*base, "up", "-d"], directory, env)
                ups.append(wall)
                up_mem = max(up_mem, mem)
                wall, _, _ = timed([*base, "up", "-d"], directory, env)
                reups.append(wall)
                wall, mem, _ = timed([*base, "down", "-v"], directory, env)
                downs.append(wall)
                down_mem = max(down_mem, mem)
            print(f"{count:>8} {min(ups):>9.2f} {up_mem:>7.0f} {min(reups):>8.2f} "
                  f"{min(downs):>8.2f} {down_mem:>9.0f}")
        if dockerd_running():
            print("dockerd is running: compare with `docker compose up -d` on the same stacks")
        else:
            print("docker-compose: not measured — no dockerd is running on this host "
                  "(reference from the issue: v1 on this machine kind: 50 services up 7.7 s, "
                  "down 4.0 s; 10: 2.0 s / 1.2 s; 1: 0.64 s / 0.64 s)")
    finally:
        for project, directory in started:  # a failed run must not leave containers behind
            subprocess.run(
                ["pycompose", "-p", project, "--progress", "quiet", "down", "-v", "-t", "0"],
                cwd=directory, env=env, check=False, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
