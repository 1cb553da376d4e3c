"""`cp` path forms as docker cp reads them: `DIR/.` copies the directory's content (both ways),
and a source path ending in `/` or `/.` follows a symlink to a directory (the link itself is
copied only without them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

STACK = """
services:
  a:
    image: busybox
    command: ["sh", "-c", "mkdir -p /d/real /in && echo hi > /d/real/f &&
      ln -s /d/real /d/link && touch /ready && exec sleep 300"]
    stop_grace_period: 0s
"""


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "cpp")


def test_dot_and_trailing_slash_sources(project: Project, tmp_path: Path) -> None:
    project.write(STACK)
    project.cli("up", "-d", "--wait")
    project.cli("exec", "-T", "a", "sh", "-c", "while [ ! -e /ready ]; do sleep 0.05; done")
    out = tmp_path / "out"
    out.mkdir()
    project.cli("cp", "a:/d/real/.", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["f"]
    project.cli("cp", "a:/d/link/", str(tmp_path / "followed"))
    followed = tmp_path / "followed"
    assert not followed.is_symlink() and (followed / "f").read_text() == "hi\n"
    project.cli("cp", "a:/d/link", str(tmp_path / "kept"))
    assert (tmp_path / "kept").is_symlink()
    source = tmp_path / "src"
    source.mkdir()
    (source / "one").write_text("1\n")
    project.cli("cp", f"{source}/.", "a:/in")
    assert project.cli("exec", "-T", "a", "ls", "/in").split() == ["one"]
