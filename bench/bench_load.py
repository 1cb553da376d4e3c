"""Load + validate + normalize a generated 500-service stack file (issue 3's target: < 0.5 s).

    python bench/bench_load.py [N_SERVICES]

Prints pycompose's in-process time (best of 5) and the `pycompose config -q` wall time;
`docker-compose config -q` (v1) beside it when installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from compose.loader import load_project
from compose.model import LoadOptions


def generate(count: int) -> dict[str, object]:
    services: dict[str, object] = {}
    for i in range(count):
        services[f"svc{i}"] = {
            "image": "busybox:${TAG:-latest}",
            "command": ["sh", "-c", f"echo {i}; sleep 1000"],
            "environment": {"INDEX": str(i), "MODE": "${MODE:-dev}"},
            "ports": [f"{10000 + i}:80"],
            "volumes": ["shared:/data", "./conf:/conf:ro"],
            "depends_on": [f"svc{i - 1}"] if i else [],
            "mem_limit": "64m",
            "labels": {"bench": "yes"},
            "networks": ["front", "back"],
        }
    return {"services": services, "volumes": {"shared": {}}, "networks": {"front": {}, "back": {}}}


def best_of(runs: int, work: object) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        path.write_text(yaml.safe_dump(generate(count)))
        options = LoadOptions(files=(str(path),), environ={}, cwd=Path(tmp))
        loaded = best_of(5, lambda: load_project(options))
        print(f"pycompose load+validate+normalize, {count} services: {loaded * 1000:.0f} ms")
        cli = best_of(3, lambda: subprocess.run(
            ["pycompose", "-f", str(path), "config", "-q"], check=True))
        print(f"pycompose config -q (CLI, incl. interpreter start): {cli * 1000:.0f} ms")
        peer = shutil.which("docker-compose")
        if peer:
            wall = best_of(3, lambda: subprocess.run(
                [peer, "-f", str(path), "config", "-q"], check=True, capture_output=True))
            print(f"docker-compose config -q: {wall * 1000:.0f} ms")
        else:
            print("docker-compose (v1) not installed: no peer number")


if __name__ == "__main__":
    main()
