"""`run -v` as docker compose's: it replaces the service's mount of the same target (not a
second mount over it), and a volume it names that the file does not declare is Docker's
implicit one, which `down -v` leaves with its data (it removes the declared ones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

STACK = """
services:
  app:
    image: busybox
    command: ["sleep", "300"]
    volumes:
      - data:/var
volumes:
  data:
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "rv")


def test_run_v_replaces_the_service_mount_and_down_v_keeps_its_volume(project: Project) -> None:
    project.write(STACK)
    mine = f"{project.name}-mine"
    out = project.cli("run", "--rm", "-T", "-v", f"{mine}:/var", "app", "sh", "-c",
                      "echo precious > /var/f; grep -c ' /var ' /proc/mounts; ls /var")
    # one mount on /var, filled from the image (its www), not from the service's volume
    assert out.split() == ["1", "f", "www"]
    project.cli("down", "-v")
    volumes = project.cli("volume", "ls", "-q").split()
    assert mine in volumes and f"{project.name}_data" not in volumes
    again = project.cli("run", "--rm", "-T", "-v", f"{mine}:/x", "app", "cat", "/x/f")
    assert again == "precious\n"
    project.cli("volume", "rm", mine)
