"""N processes attaching at once, then detaching at once (as N supervisors do on `up`/`down`).

Prints, per phase, the wall time from the start signal to the last process done, the median
and max per-operation time, and the CPU time (user+sys) of the workers. Only loopback-free
kernel objects: one bridge and N veth pairs into `unshare -n` namespaces, all removed.

Run as root:  python bench/bench_attach_concurrent.py [--count 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netdriver.api import NetworkDriver


def _worker(root: str, net: str, index: int, netns: str, go_attach: object, go_detach: object,
            out: multiprocessing.Queue) -> None:
    driver = NetworkDriver(Path(root))
    go_attach.wait()  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    driver.attach(net, f"ep{index}", netns, names=(f"c{index}",), owner_pid=os.getpid())
    t1 = time.perf_counter()
    out.put(("attach", t1 - t0, t1))
    go_detach.wait()  # type: ignore[attr-defined]
    t2 = time.perf_counter()
    driver.detach(net, f"ep{index}")
    t3 = time.perf_counter()
    use = resource.getrusage(resource.RUSAGE_SELF)
    out.put(("detach", t3 - t2, t3, use.ru_utime + use.ru_stime))


def run_once(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pc-bench-attach-") as tmp:
        root = str(Path(tmp) / "networks")
        driver = NetworkDriver(Path(root))
        net = f"bench_{uuid.uuid4().hex[:6]}"
        driver.ensure_network(net)
        holders = [subprocess.Popen(["unshare", "-n", "sleep", "120"]) for _ in range(count)]
        ctx = multiprocessing.get_context("fork")
        go_attach, go_detach = ctx.Event(), ctx.Event()
        out: multiprocessing.Queue = ctx.Queue()
        workers = []
        try:
            time.sleep(0.5)  # every `unshare` in its namespace
            workers = [
                ctx.Process(target=_worker, args=(root, net, i, f"/proc/{p.pid}/ns/net",
                                                  go_attach, go_detach, out))
                for i, p in enumerate(holders)
            ]
            for w in workers:
                w.start()
            time.sleep(0.3)
            start = time.perf_counter()
            go_attach.set()
            attaches = [out.get(timeout=60) for _ in workers]
            attach_wall = max(a[2] for a in attaches) - start
            start = time.perf_counter()
            go_detach.set()
            detaches = [out.get(timeout=60) for _ in workers]
            detach_wall = max(d[2] for d in detaches) - start
            for w in workers:
                w.join(timeout=60)
        finally:
            for p in holders:
                p.kill()
                p.wait()
            driver.remove_network(net)
        return {
            "attach_wall": attach_wall * 1000,
            "attach_med": statistics.median(a[1] for a in attaches) * 1000,
            "attach_max": max(a[1] for a in attaches) * 1000,
            "detach_wall": detach_wall * 1000,
            "detach_med": statistics.median(d[1] for d in detaches) * 1000,
            "detach_max": max(d[1] for d in detaches) * 1000,
            "worker_cpu": sum(d[3] for d in detaches) * 1000,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [run_once(args.count) for _ in range(args.runs)]
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"{key:12s} min {min(values):8.1f} ms   runs " + " ".join(f"{v:.1f}" for v in values))


if __name__ == "__main__":
    main()
