"""Container start-to-exit latency and supervisor memory, with runc beside it where installed.

Run as root:  python bench/bench_container_start.py [--runs N]

Measures (median / p90 over N runs, milliseconds):
  * bare `unshare` + `chroot` of /bin/true in the busybox rootfs (the floor),
  * `runc run` of `true` from an OCI bundle made from the same rootfs (if runc is installed),
  * the runtime alone: `engine.runtime.start` from this process (namespaces, cgroup, overlay,
    pivot_root, capabilities, seccomp, exec) until `true` has exited,
  * the engine API: create + start + wait + remove of `true` (includes the detached
    supervisor process: Python start-up and its imports),
  * the supervisor's imports alone, as the fork server loads them (`python -S`, its preload),
and the memory (PSS, USS, RSS from /proc/<pid>/smaps_rollup) of the processes that stay
resident per running container: the supervisor and its children (the container's init; a
resident stage1 only with `pid: host`).
Reports numbers only; nothing asserts on wall time.
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from process_memory import Memory  # noqa: E402
from runc_bundle import make_runc_bundle  # noqa: E402  (bench/ is on sys.path as a script)

from engine.api import ContainerSpec, Engine  # noqa: E402

BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    return f"median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   (n={len(ms)})"


def _time(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return samples



def _memory(pid: int) -> str:
    return str(Memory.of(pid) or "gone")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(c) for c in handle.read().split()]
    except OSError:
        return []



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    work = Path(tempfile.mkdtemp(prefix="pycompose-bench-"))
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        rootfs = work / "plain-rootfs"
        rootfs.mkdir()
        subprocess.run(["tar", "-xf", str(tarball), "-C", str(rootfs)], check=True)

        print(f"container start-to-exit of `true` ({args.runs} runs each)")
        bare = ["unshare", "-fmnpiu", "--mount-proc", "chroot", str(rootfs), "/bin/true"]
        print("  unshare+chroot (floor)     ",
              _stats(_time(lambda: subprocess.run(bare, check=True), args.runs)))

        if shutil.which("runc"):
            bundle = make_runc_bundle(tarball, work, ["true"])
            counter = iter(range(1_000_000))

            def runc_once() -> None:
                subprocess.run(
                    ["runc", "run", "--bundle", str(bundle), f"bench{os.getpid()}-{next(counter)}"],
                    check=True, stdin=subprocess.DEVNULL,
                )

            print("  runc run                   ", _stats(_time(runc_once, args.runs)))
        else:
            print("  runc run                    (runc not installed)")

        engine = Engine(work / "root")
        engine.import_image(tarball, "busybox:latest")
        names = iter(range(1_000_000))

        def api_once() -> None:
            info = engine.create_container(
                ContainerSpec(name=f"b{next(names)}", image="busybox", command=("true",),
                              network_mode="none")
            )
            engine.start_container(info.id)
            engine.wait_container(info.id)
            engine.remove_container(info.id)

        # The runtime alone, from this process (no supervisor): the engine's own start cost.
        from engine import runtime
        from engine.cgroups import container_cgroup

        probe = engine.create_container(
            ContainerSpec(name="runtime-probe", image="busybox", command=("true",),
                          network_mode="none")
        )
        spec = engine._runtime_spec(engine.inspect(probe.id).record)

        def runtime_once() -> None:
            cgroup = container_cgroup(probe.id)
            cgroup.create(spec.resources)
            started = runtime.start(spec, cgroup, lambda _pid: None)
            for fd in (started.stdout_fd, started.stderr_fd):
                if fd >= 0:
                    os.close(fd)
            runtime.wait_exit_code(started.exit_pid)
            cgroup.remove()

        print("  engine runtime.start only  ", _stats(_time(runtime_once, args.runs)))
        engine.remove_container(probe.id)
        print("  engine API (+supervisor)   ", _stats(_time(api_once, args.runs)))
        # as the fork server loads it: no `site`, the CLI's sys.path, the core preload
        imports = [sys.executable, "-S", "-c",
                   "from engine import supervisor_zygote as z\nz._preload_core()"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path[1:]])}
        print("  supervisor imports only    ",
              _stats(_time(lambda: subprocess.run(imports, check=True, env=env), args.runs)))
        bare_python = [sys.executable, "-c", "pass"]
        print("  python -c pass             ",
              _stats(_time(lambda: subprocess.run(bare_python, check=True), args.runs)))

        info = engine.create_container(
            ContainerSpec(name="resident", image="busybox", command=("sleep", "60"),
                          network_mode="none")
        )
        engine.start_container(info.id)
        state = engine.inspect(info.id).state
        assert state.supervisor_pid is not None
        print("resident memory per running container")
        print(f"  supervisor      pid {state.supervisor_pid:<8} {_memory(state.supervisor_pid)}")
        for pid in _children(state.supervisor_pid):
            role = "container init " if pid == state.pid else "stage1         "
            print(f"  {role} pid {pid:<8} {_memory(pid)}")
        engine.remove_container(info.id, force=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
