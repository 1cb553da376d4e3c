"""A service in another's network namespace (`network_mode: service:web`) follows web when web
is recreated on its own (`up -d --force-recreate web`): the next `up` recreates it, as docker
compose does (its config names web's container id), instead of leaving it in the namespace of
a container that is gone, where no network reaches it any more (`ipc: service:web` alike);
`restart web` restarts it after
web (compose-go's implicit `restart: true` dependency)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

STACK = """
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
  side:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    network_mode: "service:web"
  shm:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    ipc: "service:web"
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "nm")


def _addresses(project: Project, service: str) -> list[str]:
    out = project.cli("exec", "-T", service, "ip", "-4", "-o", "addr")
    return sorted(line.split()[3] for line in out.splitlines() if " lo " not in line)


def _ipc(project: Project, service: str) -> str:
    return project.cli("exec", "-T", service, "readlink", "/proc/1/ns/ipc").strip()


def test_side_is_recreated_into_the_recreated_web(project: Project) -> None:
    project.write(STACK)
    project.cli("up", "-d")
    assert _addresses(project, "side") == _addresses(project, "web") != []
    project.cli("up", "-d", "--force-recreate", "web")
    done = project.run("up", "-d")
    assert done.returncode == 0, done.stderr
    assert f"{project.name}-side-1  Recreated" in done.stderr
    assert f"{project.name}-shm-1  Recreated" in done.stderr  # `ipc: service:web` likewise
    assert _addresses(project, "side") == _addresses(project, "web") != []
    assert _ipc(project, "shm") == _ipc(project, "web")
    again = project.run("up", "-d")
    assert "Recreate" not in again.stderr  # settled: nothing more to do


def test_side_follows_a_restart_of_web(project: Project) -> None:
    project.write(STACK)
    project.cli("up", "-d")
    done = project.run("restart", "web")
    assert done.returncode == 0, done.stderr
    assert f"{project.name}-side-1  Restarted" in done.stderr
    assert _addresses(project, "side") == _addresses(project, "web") != []
