"""An image some container was created from is never deleted under it: `down --rmi all` of one
project leaves the image another project's running container uses ("Resource is still in
use", as docker compose), `image rm` refuses without -f, and `image rm -f` only takes the name
away: the container still restarts from the now dangling image."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import Project, project_on_private_root

SLEEPER = 'services:\n  app:\n    image: {image}\n    command: ["sleep", "300"]\n' \
    "    stop_grace_period: 0s\n"


@pytest.fixture
def user(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "iu")


def _other_project(user: Project, image: str) -> Project:
    directory = user.directory / "other"
    directory.mkdir()
    other = Project(directory, user.root, f"io{uuid.uuid4().hex[:8]}")
    other.write(SLEEPER.format(image=image))
    return other


def test_down_rmi_all_keeps_an_image_another_project_runs(user: Project) -> None:
    user.write(SLEEPER.format(image="busybox"))
    user.cli("up", "-d")
    other = _other_project(user, "busybox")
    other.cli("up", "-d")
    done = other.run("down", "--rmi", "all", "-t", "0")
    assert done.returncode == 0, done.stderr
    assert "Resource is still in use" in done.stderr
    assert "busybox" in user.cli("image", "ls", "--format", "{{.Repository}}")
    user.cli("restart", "app")
    assert user.states() == ["running"]


def test_image_rm_of_an_image_in_use(user: Project) -> None:
    user.cli("image", "tag", "busybox", "iu-app")
    user.cli("image", "rm", "busybox")  # iu-app is the image's only name
    user.write(SLEEPER.format(image="iu-app"))
    user.cli("up", "-d")
    refused = user.run("image", "rm", "iu-app")
    assert refused.returncode == 1 and "(must force)" in refused.stderr
    image_id = user.cli("image", "inspect", "-f", "{{.Id}}", "iu-app").strip()
    by_id = user.run("image", "rm", "-f", image_id)
    assert by_id.returncode == 1 and "being used by running container" in by_id.stderr
    forced = user.cli("image", "rm", "-f", "iu-app")
    assert "Untagged: iu-app:latest" in forced and "Deleted" not in forced
    assert user.cli("image", "inspect", "-f", "{{.Id}}", image_id).strip() == image_id
    user.cli("image", "prune", "-a", "-f")
    user.cli("restart", "app")
    assert user.states() == ["running"]
    user.cli("down", "-t", "0")
    gone = user.cli("image", "rm", image_id)  # no container left: deleted for real
    assert f"Deleted: {image_id}" in gone
