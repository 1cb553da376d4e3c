"""`up` killed (SIGKILL) while a container starts: the killed CLI's supervisor finishes the start,
as Docker's daemon does, and the next `up` finds the container started (it waits for a start
still under way) instead of starting it a second time: one copy of the command, one record,
and `down -v` stops it all. A slow start (an empty named volume filled from the image) gives
the kill its moment."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import (
    Project,
    project_on_private_root,
    wait_for,
)
from tests.integration.runtime_helpers import processes_in_cgroup_of


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "ints")





POPULATED = """
services:
  app:
    build: .
    image: {name}-filled
    command: ["sleep", "300"]
    stop_grace_period: 0s
    volumes: [data:/data]
volumes:
  data:
"""
FILLED_IMAGE = (
    "FROM busybox\n"
    "RUN mkdir /data && i=0; while [ $i -lt 3000 ]; do echo $i > /data/f$i; i=$((i+1)); done;"
    " dd if=/dev/urandom of=/data/zbig bs=1M count=64 2>/dev/null; md5sum /data/zbig > /md5\n"
)


def _kill_up_while_it_fills_the_volume(project: Project) -> str:
    """`up -d` SIGKILLed while it fills the container's empty named volume from the image (a
    slow start): the container's id (skips the test if the fill ended before the kill)."""
    project.write(POPULATED.format(name=project.name))
    (project.directory / "Dockerfile").write_text(FILLED_IMAGE)
    project.cli("build")
    volume = project.root / "volumes" / f"{project.name}_data" / "_data"
    proc = project.popen("up", "-d")
    filling = wait_for(lambda: volume.exists() and len(list(volume.iterdir())) > 200)
    (container,) = [p.name for p in project.container_dirs()]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    if not filling:
        pytest.skip("the volume was filled before `up` could be killed")
    return container


def test_up_after_up_killed_during_start_succeeds(project: Project) -> None:
    """`up -d` SIGKILLed while it starts a container whose empty named volume is being filled
    from the image (a slow start; any start works): the container stays `created`, and the
    next `up -d` failed with `container …-app-1 failed to start: endpoint <id> is already
    attached to network …_default` (exit 1); only a second `up` worked. With docker the
    daemon finishes the start; a re-run `up` succeeds. The volume's content must be whole."""
    container = _kill_up_while_it_fills_the_volume(project)
    try:
        again = project.run("up", "-d")
        assert again.returncode == 0, again.stderr
        check = "ls /data | wc -l; md5sum /data/zbig | cut -d' ' -f1; cut -d' ' -f1 /md5"
        count, got, want = project.cli("exec", "-T", "app", "sh", "-c", check).split()
        assert (count, got) == ("3001", want), "the volume was left partly filled"
    finally:
        # The killed `up`'s supervisor may live on unrecorded (next test): end it.
        project.run("down", "-v", "-t", "0")
        time.sleep(1)
        for pid in processes_in_cgroup_of(container):
            os.kill(pid, signal.SIGKILL)


def test_up_killed_during_start_never_runs_a_container_twice(project: Project) -> None:
    """The sequel of the test above, worse: `up -d` SIGKILLed while a container starts, then
    `up -d` (fails: "endpoint … is already attached"), then `up -d` again (succeeds) — the
    container's command now runs TWICE (two supervisors, two `sleep 300` in its cgroup, both
    on the same named volume: two databases on one data directory). `down -v` then stops
    only the one its record knows; the other keeps running after the project is gone, with
    no record, outliving the test suite that started it (seen: 8 such orphans)."""
    container = _kill_up_while_it_fills_the_volume(project)
    project.run("up", "-d")  # may fail (the test above)
    project.run("up", "-d")
    try:
        running = processes_in_cgroup_of(container)
        assert len(running) == 1, f"the container's command runs {len(running)} times"
    finally:
        project.run("down", "-v", "-t", "0")
        time.sleep(1)
        left = processes_in_cgroup_of(container)
        for pid in left:  # do not leave the orphan running after the test
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes of the container still running after down -v: {left}"
