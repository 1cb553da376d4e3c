"""A CLI running under a realtime scheduling policy (`chrt -f 1 pycompose up`) starts its
containers as Docker's would: they run under the normal policy, not the caller's. Before, the
kernel refused a realtime process into a cpu cgroup without a realtime budget and every start
failed with a bare "[Errno 22] Invalid argument"."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE
from tests.e2e.cli_project import Project, project_on_private_root

STACK = """
services:
  svc:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    for made in project_on_private_root(tmp_path, busybox_tarball, "rt"):
        made.write(STACK)
        yield made


def _realtime() -> None:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))


def _realtime_cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(project.root)
    return subprocess.run(
        [PYCOMPOSE, "-p", project.name, *args], cwd=project.directory, env=env, text=True,
        capture_output=True, timeout=60, preexec_fn=_realtime, check=False,
    )


def _policy(sched: str) -> str:
    """The `policy` line of /proc/self/sched (0: SCHED_OTHER, 1: SCHED_FIFO)."""
    lines = [line for line in sched.splitlines() if line.startswith("policy")]
    assert lines, sched
    return lines[0].split(":")[1].strip()


def test_run_up_and_exec_from_a_realtime_caller(project: Project) -> None:
    ran = _realtime_cli(project, "run", "--rm", "svc", "cat", "/proc/self/sched")
    assert ran.returncode == 0, ran.stderr
    assert _policy(ran.stdout) == "0"

    up = _realtime_cli(project, "up", "-d")
    assert up.returncode == 0, up.stderr
    assert project.states() == ["running"]
    for path in ("/proc/1/sched", "/proc/self/sched"):  # the service's init, the exec'd one
        execd = _realtime_cli(project, "exec", "-T", "svc", "cat", path)
        assert execd.returncode == 0, execd.stderr
        assert _policy(execd.stdout) == "0", path
