"""`volume: {nocopy: true}` (long syntax) and `:nocopy` (short, in `run -v`): a new volume
mounted over image content starts empty instead of with a copy of it, as Docker's."""

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
    stop_grace_period: 0s
    volumes:
      - copied:/etc
      - type: volume
        source: empty
        target: /usr
        volume:
          nocopy: true
volumes:
  copied:
  empty:
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "nc")


def test_a_nocopy_volume_starts_empty(project: Project) -> None:
    project.write(STACK)
    project.cli("up", "-d")
    assert "passwd" in project.cli("exec", "-T", "app", "ls", "/etc").split()
    assert project.cli("exec", "-T", "app", "ls", "-A", "/usr") == ""
    one_off = project.cli("run", "--rm", "-T", "-v", f"{project.name}_x:/var:nocopy", "app",
                          "ls", "-A", "/var")
    assert one_off == ""
    project.run("volume", "rm", f"{project.name}_x")
