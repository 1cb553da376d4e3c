"""Ctrl-C at the edges of a command and names at the edge of a file name, as a robustness
tester found them failing (2026-12-02): the second Ctrl-C of an attached `up` kills the stack
(docker compose's "press Ctrl+C again to force"), a Ctrl-C while the CLI's first modules load
exits 130 without a traceback, and a 250-character service name runs (no raw ENAMETOOLONG).
Through the CLI as a user types it, on a private data root with the busybox image.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import (
    Project,
    project_on_private_root,
    wait_for,
)


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "rob")


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
    assert wait_for(lambda: project.states().count("running") == 2), "stack did not start"
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert "Traceback" not in out
    stopped = wait_for(lambda: "running" not in project.states(), timeout=5, step=0.2)
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
