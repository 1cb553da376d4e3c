"""`pycompose run` as a user sees it, on the fast path (no Typer) and on the Typer path alike:
output streamed while the container runs, another process sees the one-off running, Ctrl-C /
SIGTERM stop it and `--rm` leaves nothing, exit codes and stderr passed through."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE, run_cli

STACK = "services:\n  svc:\n    image: busybox\n    stop_grace_period: 1s\n"


class Project:
    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root
        self.name = f"oneoff{uuid.uuid4().hex[:8]}"
        (directory / "compose.yaml").write_text(STACK)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(["-p", self.name, *args], cwd=self.directory, root=self.root)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["PYCOMPOSE_ROOT"] = str(self.root)
        return subprocess.Popen(
            [PYCOMPOSE, "-p", self.name, *args], cwd=self.directory, env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    def states(self) -> dict[str, str]:
        from engine.api import Engine

        engine = Engine(self.root)
        found = engine.list_containers({"com.docker.compose.project": self.name})
        return {c.name: c.status.value for c in found}

    def containers(self) -> list[str]:
        from engine.api import Engine

        engine = Engine(self.root)
        return [c.name for c in engine.list_containers({"com.docker.compose.project": self.name})]


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    root = tmp_path / "root"
    imported = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=root
    )
    assert imported.returncode == 0, imported.stderr
    made = Project(tmp_path, root)
    yield made
    made.cli("down", "-v", "-t", "0", "--remove-orphans")


def _first_line(process: subprocess.Popen[str], seconds: float = 30) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, "no output streamed while the container runs"
    return process.stdout.readline()


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_output_streams_ps_sees_the_run_and_an_interrupt_removes_it(
    project: Project, how: str
) -> None:
    process = project.popen("run", "--rm", "svc", "sh", "-c", "echo started; exec sleep 60")
    try:
        assert _first_line(process) == "started\n"  # streamed: the container still runs
        # what another terminal's `ps` reads: the engine's state files, observed liveness
        running = project.states()
        assert [s for n, s in running.items() if n.startswith(f"{project.name}-svc-run-")] == [
            "running"
        ], running
        began = time.monotonic()
        process.send_signal(getattr(signal, how))
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert time.monotonic() - began < 20  # stopped, not left to sleep out its 60 s
    assert project.containers() == []


def test_exit_code_stdout_and_stderr_are_passed_through(project: Project) -> None:
    result = project.cli("run", "--rm", "svc", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.returncode == 7
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr
    assert project.containers() == []


def test_typer_path_runs_the_same_command(project: Project) -> None:
    """Combined short flags are not read by the fast path: Typer runs them, same result."""
    result = project.cli("run", "-dT", "svc", "sleep", "300")
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    assert name.startswith(f"{project.name}-svc-run-")
    assert project.containers() == [name]


def test_errors_are_one_line_with_the_right_exit_code(project: Project) -> None:
    missing = project.cli("run", "--rm", "nosuch", "true")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: no such service: nosuch"
    usage = project.cli("run", "--rm")
    assert usage.returncode == 2
    assert "Missing argument" in usage.stderr
    assert project.containers() == []
