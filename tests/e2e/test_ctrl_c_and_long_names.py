"""Ctrl-C at the edges of a command and names at the edge of a file name, as a robustness
tester found them failing (2026-12-02): the second Ctrl-C of an attached `up` kills the stack
(docker compose's "press Ctrl+C again to force"), a Ctrl-C while the CLI's first modules load
exits 130 without a traceback, and a 250-character service name runs (no raw ENAMETOOLONG).
Through the CLI as a user types it, on a private data root with the busybox image.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE, run_cli


@dataclass
class Project:
    directory: Path
    root: Path
    name: str

    def write(self, text: str, filename: str = "compose.yaml") -> None:
        (self.directory / filename).write_text(text)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_cli(["-p", self.name, *args], cwd=self.directory, root=self.root,
                       timeout=timeout)

    def cli(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        return done.stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """The CLI in the background, with Ctrl-C (SIGINT) delivered as from a terminal."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["PYCOMPOSE_ROOT"] = str(self.root)
        return subprocess.Popen(
            [PYCOMPOSE, "-p", self.name, *args], cwd=self.directory, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def container_dirs(self) -> list[Path]:
        directory = self.root / "containers"
        return sorted(directory.iterdir()) if directory.exists() else []

    def states(self) -> list[str]:
        return self.cli("ps", "-a", "--format", "{{.State}}").split()


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    root = tmp_path / "root"
    imported = run_cli(["image", "import", str(busybox_tarball), "busybox"],
                       cwd=tmp_path, root=root)
    assert imported.returncode == 0, imported.stderr
    made = Project(tmp_path, root, f"rob{uuid.uuid4().hex[:8]}")
    yield made
    made.run("down", "-v", "-t", "0", "--remove-orphans")
    _remove_leftover_containers(root)


def _remove_leftover_containers(root: Path) -> None:
    """Whatever a failing test left (build-step containers have no project label)."""
    if not root.exists():
        return
    from engine.api import Engine

    engine = Engine(root)
    for info in engine.list_containers():
        engine.remove_container(info.id, force=True)


def _wait_for(what: Callable[[], bool], timeout: float = 30, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(step)
    return False


# --- 4. a second Ctrl-C on an attached `up` leaves the containers running ---------------------

STUBBORN = """
services:
  a:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 60s
  b:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 60s
"""


def test_second_ctrl_c_on_attached_up_kills_the_containers(project: Project) -> None:
    """docker compose: the first Ctrl-C stops the stack gracefully, "press Ctrl+C again to
    force" — the second kills the containers (killApplication, All: true). pycompose's second
    Ctrl-C only killed the CLI: every container still in its grace period (PID 1 ignoring
    SIGTERM, as `sleep`) stayed running, with no `up` left to stop it."""
    project.write(STUBBORN)
    proc = project.popen("up")
    assert _wait_for(lambda: project.states().count("running") == 2), "stack did not start"
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert "Traceback" not in out
    stopped = _wait_for(lambda: "running" not in project.states(), timeout=5, step=0.2)
    assert stopped, f"containers still running after Ctrl-C twice: {project.states()}\n{out}"


# --- 5. a one-off stack (used below) ----------------------------------------------------------

ONEOFF = """
services:
  job:
    image: busybox
    command: ["true"]
    volumes: ["/scratch"]
"""


# --- 6. error texts ---------------------------------------------------------------------------

def test_long_service_name_gives_no_raw_os_error(project: Project) -> None:
    """A 250-character service name: `up` failed with
    `[Errno 36] File name too long: '<root>/container-names/<project>-aaa…-1'` (a raw
    OSError naming an internal path). docker accepts such a name; at the very least the
    error should name the service and say what is too long."""
    service = "s" + "x" * 249
    project.write(
        f"services:\n  {service}:\n    image: busybox\n    command: [\"sleep\", \"300\"]\n"
    )
    done = project.run("up", "-d")
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    assert "[Errno" not in text, text[-400:]


@pytest.mark.parametrize("delay", [0.05, 0.08, 0.12])
def test_early_ctrl_c_on_up_prints_no_traceback(project: Project, delay: float) -> None:
    """Ctrl-C in the first ~0.1 s of `up -d` (while fast_up imports) printed a Python
    `KeyboardInterrupt` traceback (fast_up -> cache_dataclass_methods -> install). docker
    compose exits quietly with 130. (Timing-dependent: an interrupt inside the interpreter's
    own start-up, `init_import_site`, is not ours and is ignored.)"""
    project.write(ONEOFF.replace('["true"]', '["sleep", "300"]'))
    proc = project.popen("up", "-d")
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    if "init_import_site" in out:
        pytest.skip("interrupted inside the interpreter's start-up")
    if "Traceback" in out and not any(f"/{pkg}/" in out for pkg in ("compose", "engine")):
        pytest.skip("interrupted in the launcher script, before any of pycompose's code ran")
    assert "Traceback" not in out, out
