"""Two versions of pycompose interleaved: `up -d` and `down -v` of N services, the working tree
and a git revision taking turns round by round, each command's wall time and the whole
machine's busy CPU (from /proc/stat) printed with their medians.

    sudo .venv/bin/python bench/bench_ab.py --base REV [--services 50] [--rounds 8]

Why: on a shared machine the speed drifts by 20-60% within an hour (this one's `runc run` of
`true` went from 37 to 63 ms median in one afternoon), so two versions measured one after the
other compare the machine's moods, not the code. Taking turns (the order flips every round)
and comparing medians does. The busy CPU of the whole machine counts every process (CLI,
fork server, supervisors, the containers' own set-up), without perf's overhead: on an
otherwise idle machine it is the steadier number.

The base revision runs from a git worktree in a temp dir (its bytecode and compiled dataclass
methods built first, as the set-up scripts do), through this venv's `pycompose` with
PYTHONPATH pointing at the worktree (the fork server inherits it). Both versions use one data
root with the busybox image the tests use. The stack is bench_up_down.py's (one network, one
shared named volume, `init: true`). Numbers only; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_up_down import BUSYBOX_SCRIPT, PYCOMPOSE, stack_yaml

REPO = Path(__file__).resolve().parent.parent
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    version: str
    command: str
    wall_ms: float
    busy_ms: float


def busy_ms() -> float:
    """CPU time the whole machine has spent busy since boot (all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) * TICK_MS


def timed(version: str, command: str, argv: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    before, start = busy_ms(), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall, busy = (time.perf_counter() - start) * 1000, busy_ms() - before
    if done.returncode != 0:
        raise SystemExit(f"{version}: {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return Sample(version, command, wall, busy)


def base_worktree(revision: str, work: Path) -> Path:
    """A worktree of `revision`, ready to run as an installed copy would."""
    tree = work / "base"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree),
                    revision], check=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    python = str(Path(PYCOMPOSE).parent / "python")
    subprocess.run([python, "-m", "compileall", "-q", "compose", "engine", "netdriver"],
                   cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([python, "-m", "engine.dataclass_code_cache"], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return tree


def run_rounds(rounds: int, directory: Path, envs: dict[str, dict[str, str]]) -> list[Sample]:
    samples = []
    base = [PYCOMPOSE, "--progress", "quiet"]
    for index in range(rounds):
        order = list(envs) if index % 2 == 0 else list(reversed(envs))
        for version in order:
            env = envs[version]
            up = timed(version, "up -d", [*base, "up", "-d"], directory, env)
            time.sleep(1)  # the fork server idles out, as between a user's commands
            down = timed(version, "down -v", [*base, "down", "-v"], directory, env)
            time.sleep(0.5)
            samples += [up, down]
            print(f"round {index + 1:2} {version:8} up -d {up.wall_ms:6.0f} ms (busy "
                  f"{up.busy_ms:5.0f})   down -v {down.wall_ms:6.0f} ms (busy {down.busy_ms:5.0f})")
    return samples


def report(samples: list[Sample], versions: list[str]) -> None:
    print("medians (wall ms / whole-machine busy CPU ms):")
    for command in ("up -d", "down -v"):
        cells = {}
        for version in versions:
            picked = [s for s in samples if s.version == version and s.command == command]
            cells[version] = (statistics.median(s.wall_ms for s in picked),
                              statistics.median(s.busy_ms for s in picked))
        (base_wall, base_busy), (new_wall, new_busy) = cells[versions[0]], cells[versions[1]]
        print(f"  {command:8} {versions[0]} {base_wall:6.0f} / {base_busy:5.0f}   "
              f"{versions[1]} {new_wall:6.0f} / {new_busy:5.0f}   "
              f"change {100 * (new_wall / base_wall - 1):+5.1f}% / "
              f"{100 * (new_busy / base_busy - 1):+5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    dropped = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")  # each version's own bytecode is used
    common = {k: v for k, v in os.environ.items()
              if not k.startswith("COMPOSE_") and k not in dropped}
    common["PYCOMPOSE_ROOT"] = str(work / "root")
    directory = work / "stack"
    tree: Path | None = None
    try:
        tree = base_worktree(args.base, work)
        envs = {args.base[:8]: {**common, "PYTHONPATH": str(tree)}, "working": common}
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PYCOMPOSE, "image", "import", str(tarball), "busybox"], env=common,
                       check=True, stdout=subprocess.DEVNULL)
        directory.mkdir()
        (directory / "compose.yaml").write_text(stack_yaml(args.services, True))
        print(f"{args.services} services, {args.rounds} rounds, base {args.base} against the "
              f"working tree")
        report(run_rounds(args.rounds, directory, envs), list(envs))
    finally:
        if directory.exists():
            subprocess.run([PYCOMPOSE, "down", "-v", "-t", "0"], cwd=directory, env=common,
                           check=False, capture_output=True)
        if tree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                           check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
