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


def test_cp_reports_each_container_s_copy_as_docker_compose(
    project: Project, tmp_path: Path
) -> None:
    project.write(STACK)
    project.cli("up", "-d", "--wait", "--scale", "a=2")
    name = f"{project.name}-a"
    copied_out = project.run("--progress", "plain", "cp", "a:/etc/hostname", str(tmp_path / "h"))
    assert copied_out.returncode == 0, copied_out.stderr
    what = f"{name}-1 copy {name}-1:/etc/hostname to {tmp_path / 'h'}"
    assert copied_out.stderr.splitlines() == [f" {what}  Copying", f" {what}  Copied"]
    assert copied_out.stdout == ""
    (tmp_path / "f").write_text("x\n")
    copied_in = project.run("--progress", "plain", "cp", str(tmp_path / "f"), "a:/tmp")
    assert copied_in.returncode == 0, copied_in.stderr
    assert copied_in.stderr.splitlines() == [  # into every replica, in turn
        f" {name}-{i} copy {tmp_path / 'f'} to {name}-{i}:/tmp  {phase}"
        for i in (1, 2) for phase in ("Copying", "Copied")
    ]
    quiet = project.run("--progress", "quiet", "cp", str(tmp_path / "f"), "a:/tmp")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_cp_errors_in_docker_compose_s_words(project: Project, tmp_path: Path) -> None:
    project.write(STACK)
    project.cli("up", "-d", "--wait")
    (tmp_path / "f").write_text("x\n")
    cases = {
        ("a:/etc/hostname", "a:/tmp"): "copying between services is not supported",
        (str(tmp_path / "f"), str(tmp_path / "g")): "unknown copy direction",
        ("--index", "3", str(tmp_path / "f"), "a:/tmp"): 'service "a" is not running container #3',
    }
    for args, words in cases.items():
        done = project.run("cp", *args)
        assert done.returncode == 1 and words in done.stderr, (args, done.stderr)
    project.cli("rm", "-s", "-f", "a")
    gone = project.run("cp", str(tmp_path / "f"), "a:/tmp")
    assert 'no container found for service "a"' in gone.stderr
