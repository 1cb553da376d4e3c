"""A stack as a test fixture, the way pytest-xdist workers use it: several `up -d --wait` of
one shared project at once all succeed on the same containers, and several `down -v` of it at
once all succeed too. Through the CLI as a user types
it, on a private data root with the busybox image.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

FIXTURE = """
services:
  web:
    image: busybox
    ports: ["127.0.0.1:0:80"]
    command: [sh, -c, "trap 'exit 0' TERM; mkdir -p /www; echo served > /www/index.html;
              httpd -f -p 80 -h /www & while true; do sleep 1; done"]
    healthcheck:
      test: [CMD, wget, -qO-, "http://127.0.0.1:80/"]
      interval: 1s
      start_interval: 0.2s
      start_period: 5s
    volumes: [data:/data]
    networks: [back]
  worker:
    image: busybox
    depends_on:
      web: {condition: service_healthy}
    command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
    networks: [back]
volumes:
  data: {}
networks:
  back: {}
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "fix")


def test_concurrent_ups_of_one_project_all_succeed_on_the_same_containers(
    project: Project,
) -> None:
    """The `up`s that lose the race for a container name start the one the winner made
    (same service, replica and configuration) instead of failing with "already in use"."""
    project.write(FIXTURE)
    racers = [project.popen("up", "-d", "--wait", "--wait-timeout", "60") for _ in range(3)]
    outputs = [racer.communicate(timeout=180)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0, 0], outputs
    assert not any("already in use" in out or "Traceback" in out for out in outputs), outputs
    rows = [json.loads(line) for line in project.cli("ps", "-a", "--format", "json").splitlines()]
    assert sorted((r["Service"], r["State"]) for r in rows) == [
        ("web", "running"), ("worker", "running")
    ]
    port = project.cli("port", "web", "80").strip().rsplit(":", 1)[1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
        assert page.read() == b"served\n"
    done = project.run("down", "-v", "-t", "1")
    assert done.returncode == 0, done.stderr
    assert project.container_dirs() == []


def test_concurrent_downs_of_one_project_all_succeed(project: Project) -> None:
    """Each `down -v` may find a network or volume the other removed since it listed them:
    "No resource found to remove", as docker compose says, not a failure."""
    project.write(FIXTURE)
    project.cli("up", "-d", "--wait")
    racers = [project.popen("down", "-v", "-t", "1") for _ in range(3)]
    outputs = [racer.communicate(timeout=120)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0, 0], outputs
    assert not any("not found" in out or "Traceback" in out for out in outputs), outputs
    assert project.container_dirs() == []
    assert project.cli("ps", "-a", "-q") == ""
