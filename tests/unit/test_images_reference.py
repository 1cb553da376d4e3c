"""`images`' Repository and Tag as docker compose derives them from the container's image
reference (ParseDockerRef, then the familiar name)."""

from __future__ import annotations

import pytest

from compose.cli.query_cmds import repository_and_tag


@pytest.mark.parametrize(("reference", "expected"), [
    ("busybox", ("busybox", "latest")),
    ("busybox:1.36", ("busybox", "1.36")),
    ("docker.io/library/busybox:1.36", ("busybox", "1.36")),
    ("index.docker.io/user/app", ("user/app", "latest")),
    ("localhost:5000/app", ("localhost:5000/app", "latest")),
    ("reg.example:5000/team/app:v2", ("reg.example:5000/team/app", "v2")),
    ("busybox@sha256:" + "a" * 64, ("busybox", "")),  # a digest pins it: no tag
    ("busybox:1.36@sha256:" + "a" * 64, ("busybox", "")),
    ("Not A Reference", ("", "")),
])
def test_repository_and_tag_as_docker_compose_shows_them(
    reference: str, expected: tuple[str, str]
) -> None:
    assert repository_and_tag(reference) == expected
