"""`pycompose watch` and `up --watch` as a user runs them: edit files on the host, see them
(or their effects) in the containers within a bounded wait, then stop the watch with Ctrl-C
or SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import PYCOMPOSE, run_cli
from tests.fixtures_images import busybox_tarball  # noqa: F401

WAIT = 30.0  # seconds: a change reaches the container well within this (0.5 s debounce)
# PID 1 that stops at once on SIGTERM (a plain `sleep` would take the 10 s grace period).
LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done"


class Stack:
    """A stack directory with its own data root and project name."""

    def __init__(self, tmp_path: Path, tarball: Path, compose: str) -> None:
        self.root = tmp_path / "root"
        self.dir = tmp_path / "stack"
        self.dir.mkdir()
        (self.dir / "compose.yaml").write_text(compose)
        self.project = f"w{os.getpid()}{tmp_path.name[-6:].replace('_', '')}".lower()
        done = self.cli("image", "import", str(tarball), "busybox")
        assert done.returncode == 0, done.stderr
        self.out = tmp_path / "watch.out"
        self.watcher: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_cli(["-p", self.project, *args], cwd=self.dir, root=self.root,
                       timeout=timeout)

    def write(self, rel: str, text: str) -> None:
        path = self.dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def start(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["PYCOMPOSE_ROOT"] = str(self.root)
        with self.out.open("wb") as out:
            self.watcher = subprocess.Popen(
                [PYCOMPOSE, "-p", self.project, *args], cwd=self.dir, env=env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        wait_for(lambda: "Watch enabled" in self.output(), "the watch to start", 180)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def stop(self, sig: int) -> int:
        assert self.watcher is not None
        self.watcher.send_signal(sig)
        return self.watcher.wait(timeout=60)

    def in_container(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.cli("exec", "-T", "app", *argv)

    def state(self) -> dict[str, object]:
        done = self.cli("container", "inspect", f"{self.project}-app-1")
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)[0]
        return {"Id": document["Id"], "Image": document["Image"], **document["State"]}

    def close(self) -> None:
        if self.watcher is not None and self.watcher.poll() is None:
            self.watcher.kill()
            self.watcher.wait(timeout=30)
        down = self.cli("down", "-v", "-t", "1")
        assert down.returncode == 0, down.stderr


def wait_for(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


SYNC_STACK = f"""
services:
  app:
    image: busybox
    command: ["sh", "-c", "{LOOP}"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: ["*.tmp"]
        - path: ./conf
          action: sync+restart
          target: /etc/conf
"""


def test_watch_syncs_deletes_ignores_and_restarts(tmp_path: Path,
                                                  busybox_tarball: Path) -> None:  # noqa: F811
    stack = _stack(tmp_path, busybox_tarball, SYNC_STACK)
    (stack.dir / "src").mkdir()
    (stack.dir / "conf").mkdir()
    try:
        stack.start("watch")
        stack.write("src/hello.txt", "hello from the host\n")
        wait_for(lambda: stack.in_container("cat", "/app/hello.txt").stdout
                 == "hello from the host\n", "hello.txt in the container")
        assert 'Syncing service "app" after 1 changes were detected' in stack.output()

        stack.write("src/owned.txt", "owned\n")
        os.chown(stack.dir / "src" / "owned.txt", 1234, 2345)  # after the write: one event
        wait_for(lambda: stack.in_container("stat", "-c", "%u:%g", "/app/owned.txt").stdout
                 == "1234:2345\n", "owned.txt with its owner kept in the container")

        stack.write("src/scratch.tmp", "ignored\n")
        stack.write("src/nested/after.txt", "after\n")
        wait_for(lambda: stack.in_container("cat", "/app/nested/after.txt").returncode == 0,
                 "nested/after.txt in the container")
        assert stack.in_container("test", "-e", "/app/scratch.tmp").returncode == 1

        (stack.dir / "src" / "hello.txt").unlink()
        wait_for(lambda: stack.in_container("test", "-e", "/app/hello.txt").returncode == 1,
                 "hello.txt to be removed in the container")

        before = stack.state()
        stack.write("conf/app.ini", "level=2\n")
        wait_for(lambda: 'service(s) ["app"] restarted' in stack.output(), "the restart")
        after = stack.state()
        assert after["StartedAt"] != before["StartedAt"]
        assert after["Id"] == before["Id"]  # restarted, not recreated
        assert stack.in_container("cat", "/etc/conf/app.ini").stdout == "level=2\n"

        assert stack.stop(signal.SIGINT) == 0
        assert "Watch disabled" in stack.output()
        assert stack.state()["Running"] is True  # the watch leaves the containers running
    finally:
        stack.close()


REBUILD_STACK = f"""
services:
  app:
    build: ./ctx
    command: ["sh", "-c", "{LOOP}"]
    develop:
      watch:
        - path: ./ctx
          action: rebuild
"""


def test_watch_rebuild_recreates_the_container_with_the_new_image(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    stack = _stack(tmp_path, busybox_tarball, REBUILD_STACK)
    stack.write("ctx/Dockerfile", "FROM busybox\nCOPY version.txt /version.txt\n")
    stack.write("ctx/version.txt", "v1\n")
    stack.write("ctx/.dockerignore", "notes.md\n")
    try:
        stack.start("watch", "--quiet")
        assert stack.in_container("cat", "/version.txt").stdout == "v1\n"
        before = stack.state()
        stack.write("ctx/notes.md", "ignored by .dockerignore: no rebuild\n")
        stack.write("ctx/version.txt", "v2\n")
        wait_for(lambda: stack.in_container("cat", "/version.txt").stdout == "v2\n",
                 "the rebuilt image's file", 120)
        after = stack.state()
        assert (after["Id"], after["Image"]) != (before["Id"], before["Image"])
        output = stack.output()
        assert 'Rebuilding service(s) ["app"] after changes were detected...' in output
        assert output.count("Rebuilding service(s)") == 1
        assert "Successfully tagged" not in output  # --quiet hides the build output
        images = stack.cli("image", "ls", "--format", "{{.ID}}").stdout.split()
        assert before["Image"].removeprefix("sha256:")[:12] not in images  # --prune (default)
        assert stack.stop(signal.SIGTERM) == 0
    finally:
        stack.close()


UP_WATCH_STACK = f"""
services:
  app:
    build: ./ctx
    command: ["sh", "-c", "echo running $$(cat /version.txt); {LOOP}"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
        - path: ./ctx
          action: rebuild
"""


def test_up_watch_follows_the_rebuilt_containers_output(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    stack = _stack(tmp_path, busybox_tarball, UP_WATCH_STACK)
    stack.write("ctx/Dockerfile", "FROM busybox\nCOPY version.txt /version.txt\n")
    stack.write("ctx/version.txt", "v1\n")
    (stack.dir / "src").mkdir()
    try:
        stack.start("up", "--watch")
        wait_for(lambda: "app-1  | running v1" in stack.output(), "the first run's output")
        stack.write("src/page.html", "<p>edited</p>\n")
        wait_for(lambda: stack.in_container("cat", "/app/page.html").returncode == 0,
                 "page.html in the container")
        stack.write("ctx/version.txt", "v2\n")
        wait_for(lambda: "app-1  | running v2" in stack.output(),
                 "the recreated container's output", 120)
        assert stack.stop(signal.SIGINT) == 130
        assert stack.state()["Running"] is False  # attached `up` stops what it started
        assert "Watch disabled" in stack.output()
    finally:
        stack.close()


def _stack(tmp_path: Path, tarball: Path, compose: str) -> Stack:
    return Stack(tmp_path, tarball, compose)
