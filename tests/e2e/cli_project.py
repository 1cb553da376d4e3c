"""A stack driven through the `pycompose` CLI as a user types it, on a private data root with
the busybox image: the e2e tests of interruptions, log rotation and starts share it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


def project_on_private_root(
    tmp_path: Path, busybox_tarball: Path, prefix: str
) -> Iterator[Project]:
    """A fixture's body: a project named `<prefix><random>` in tmp_path, its own data root with
    the busybox image; afterwards `down -v` and whatever a failing test left is removed."""
    root = tmp_path / "root"
    imported = run_cli(["image", "import", str(busybox_tarball), "busybox"],
                       cwd=tmp_path, root=root)
    assert imported.returncode == 0, imported.stderr
    made = Project(tmp_path, root, f"{prefix}{uuid.uuid4().hex[:8]}")
    yield made
    made.run("down", "-v", "-t", "0", "--remove-orphans")
    remove_leftover_containers(root)


def remove_leftover_containers(root: Path) -> None:
    """Whatever a failing test left (build-step containers have no project label)."""
    if not root.exists():
        return
    from engine.api import Engine

    engine = Engine(root)
    for info in engine.list_containers():
        engine.remove_container(info.id, force=True)


def wait_for(what: Callable[[], bool], timeout: float = 30, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(step)
    return False
