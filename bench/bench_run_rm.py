"""End-to-end latency of `pycompose run --rm svc true` (issue 4 goal: <= 100 ms), with the
pieces it is made of, and `runc run` of the same rootfs beside it where runc is installed.

    sudo .venv/bin/python bench/bench_run_rm.py [--runs N]

Works in a temp project on a private data root (PYCOMPOSE_ROOT in a temp dir) with the busybox
rootfs the tests use. Prints min / median wall time over N runs and the CLI's own CPU time
(user+sys of the `pycompose` process; the detached supervisor is not its child and is not
counted there). Pieces, each timed as a fresh process the way `run` pays for it:
  * python -c pass                       interpreter start-up (with this venv's site)
  * CLI imports before the fork server   what `run` imports before it starts the fork server
                                         (builtin modules only: engine.supervisor_spawner)
  * CLI imports on the `run` path        what the CLI process imports before the supervisor, with
                                         the project cache warm (compose.project_cache) and the
                                         dataclasses from their cache, as `run` has them
  * ... + loader (project cache miss)    the same when the stack file changed
  * fork server core / core + netlink     what the zygote imports before it can fork a
                                         supervisor (netlink only for a bridge attachment), run
                                         as the zygote runs: without `site` (python -S)
Other commands through the Typer app, for their start-up cost: `ps`, `down` (an empty project,
after one untimed `down` removes the network the runs created), `version`.
Then where one run's wall time goes (medians of instrumented runs, ms since the CLI's `main`):
the fork server started, the CLI's request sent, the fork server's acknowledgement (it is ready:
a gap after "sent" means the CLI waited for it), the supervisor's start report, the CLI's exit.
Numbers only; nothing asserts on wall time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runc_bundle import make_runc_bundle

REPO = Path(__file__).resolve().parent.parent
BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"
PYCOMPOSE = Path(sys.executable).parent / "pycompose"
STACK = """\
services:
  svc:
    image: busybox
  svcnone:
    image: busybox
    network_mode: none
"""
CLI_IMPORTS_FIRST = "import compose.cli.app, compose.cli.fast_run, engine.supervisor_spawner"
# As `run` does after starting the fork server: the dataclasses from their cache.
CLI_IMPORTS = (
    "import engine; engine.cache_dataclass_methods()\n"
    "import compose.cli.app, compose.cli.fast_run, compose.cli.oneoff, compose.cli.session, "
    "compose.project_cache, compose.orchestrator, compose.container_spec, engine.api, "
    "engine.supervisor_spawner"
)
CLI_IMPORTS_MISS = CLI_IMPORTS + ", compose.loader"
# The fork server's own preload stages (engine.supervisor_zygote), as it runs them.
ZYGOTE_CORE_IMPORTS = "from engine import supervisor_zygote as z\nz._preload_core()"
ZYGOTE_IMPORTS = ZYGOTE_CORE_IMPORTS + "\nz._preload_netlink()"
# `pycompose ARGS` in-process, with the fork server's client wrapped to note when things happen.
TIMELINE = """
import json, sys, time
begin = time.monotonic()
from engine import supervisor_spawner as spawner
marks = {}
def noting(before, after, fn):
    def wrapped(*args, **kwargs):
        if before: marks.setdefault(before, time.monotonic())
        result = fn(*args, **kwargs)
        marks.setdefault(after, time.monotonic())
        return result
    return wrapped
cls = spawner.SupervisorSpawner
cls._start_zygote = noting(None, "fork server started", cls._start_zygote)
cls._request = noting("request sent", "acknowledged", cls._request)
cls.spawn = noting(None, "start reported", cls.spawn)
def report():
    marks["exit"] = time.monotonic()
    print(json.dumps({k: (v - begin) * 1000 for k, v in marks.items()}), file=sys.stderr)
from compose.cli import fast_run
exit_now = fast_run.exit_now
def exiting(code):  # the fast path ends the process itself (no interpreter teardown)
    report()
    exit_now(code)
fast_run.exit_now = exiting
sys.argv = ["pycompose", *sys.argv[1:]]
from compose.cli.app import main
try:
    main()
except SystemExit:
    pass
report()
"""


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for)."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def _report(label: str, samples: list[tuple[float, float]]) -> None:
    walls = [w * 1000 for w, _ in samples]
    cpus = [c * 1000 for _, c in samples]
    cpu = f"   CPU min {min(cpus):6.1f} ms" if any(cpus) else ""
    print(f"  {label:<38} min {min(walls):7.1f} ms   median {statistics.median(walls):7.1f} ms"
          f"{cpu}   (n={len(walls)})")


def _repeat(fn: Callable[[], tuple[float, float]], runs: int) -> list[tuple[float, float]]:
    fn()  # warm-up: page cache, .pyc files, the project's network
    return [fn() for _ in range(runs)]


def _timeline(service: str, cwd: Path, env: dict[str, str], runs: int) -> None:
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", TIMELINE, "run", "--rm", service, "true"],
                              cwd=cwd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"instrumented run failed ({done.returncode}):\n{done.stderr}")
        for name, at in json.loads(done.stderr.strip().splitlines()[-1]).items():
            samples.setdefault(name, []).append(at)
    order = sorted(samples, key=lambda name: statistics.median(samples[name]))
    print(f"  {service:<8} " + "  ".join(
        f"{name} {statistics.median(samples[name]):.0f}" for name in order))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (containers need namespaces and cgroups)")
    work = Path(tempfile.mkdtemp(prefix="bench-run-rm-"))
    project = work / "proj"
    # As a user runs it: .pyc files written and used (a dev shell may set DONTWRITEBYTECODE).
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("COMPOSE_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(PYCOMPOSE_ROOT=str(work / "root"), COMPOSE_PROJECT_NAME=f"benchrun{os.getpid()}",
               PYCOMPOSE_CACHE_DIR=str(work / "cache"))  # warmed by each first (untimed) run
    try:
        tarball = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(tarball)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(PYCOMPOSE), "image", "import", str(tarball), "busybox"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        project.mkdir()
        (project / "compose.yaml").write_text(STACK)

        print(f"`pycompose run --rm SERVICE true`, end to end ({args.runs} runs each)")
        for service, what in (("svc", "bridge network"), ("svcnone", "network_mode: none")):
            argv = [str(PYCOMPOSE), "run", "--rm", service, "true"]
            _report(f"run --rm {service} true ({what})",
                    _repeat(functools.partial(_timed, argv, project, env), args.runs))
        if shutil.which("runc"):
            bundle = make_runc_bundle(tarball, work, ["true"])
            counter = iter(range(1_000_000))

            def runc_once() -> tuple[float, float]:
                name = f"benchrun{os.getpid()}-{next(counter)}"
                return _timed(["runc", "run", "--bundle", str(bundle), name], work, env)

            _report("runc run (same rootfs, no network)", _repeat(runc_once, args.runs))
        else:
            print("  runc run                               (runc not installed)")

        print("other commands (Typer app, nothing running)")
        for words in (["ps"], ["down"], ["version"]):
            argv = [str(PYCOMPOSE), *words]
            _report(f"pycompose {' '.join(words)}",
                    _repeat(functools.partial(_timed, argv, project, env), args.runs))
        print("where the time goes (median ms after `main` starts; python start-up not included)")
        for service in ("svc", "svcnone"):
            _timeline(service, project, env, args.runs)
        print("pieces (each a fresh process)")
        py_env = {**env, "PYTHONPATH": str(REPO)}
        # The fork server's search path, as engine.supervisor_spawner gives it (no `site`).
        site_packages = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
        zygote_env = {**env, "PYTHONPATH": os.pathsep.join([str(REPO), *site_packages])}
        for label, code, flags, piece_env in (
            ("python -c pass", "pass", [], py_env),
            ("CLI imports before the fork server", CLI_IMPORTS_FIRST, [], py_env),
            ("CLI imports on the `run` path", CLI_IMPORTS, [], py_env),
            ("... + loader (project cache miss)", CLI_IMPORTS_MISS, [], py_env),
            ("python -S -c pass (fork server)", "pass", ["-S"], zygote_env),
            ("fork server core (network_mode none)", ZYGOTE_CORE_IMPORTS, ["-S"], zygote_env),
            ("fork server core + netlink (bridge)", ZYGOTE_IMPORTS, ["-S"], zygote_env),
        ):
            argv = [sys.executable, *flags, "-c", code]
            _report(label, _repeat(functools.partial(_timed, argv, work, piece_env), args.runs))
    finally:  # nothing left behind: the project's network, then the data root
        subprocess.run([str(PYCOMPOSE), "down", "-v", "-t", "0"], cwd=project, env=env,
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
