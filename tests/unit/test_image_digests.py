"""`config --resolve-image-digests` pins each image to the digest this engine pulled it with;
an image that cannot be pinned is an error naming the service (all of them at once)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from compose.errors import ComposeError
from compose.image_digests import pinned_images
from compose.loader import load_project
from compose.model import LoadOptions

DIGEST = "sha256:" + "a" * 64


def _engine(local: dict[str, tuple[str, ...]]) -> Any:
    """images.find by reference; repo_digests: what `local` says for it."""
    def find(ref: str) -> Any:
        return SimpleNamespace(ref=ref) if ref in local else None

    return SimpleNamespace(images=SimpleNamespace(
        find=find, repo_digests=lambda image: local[image.ref]))


def _project(tmp_path: Path, services: str) -> Any:
    (tmp_path / "compose.yaml").write_text("services:\n" + textwrap.indent(services, "  "))
    return load_project(LoadOptions(cwd=tmp_path, project_name="p"))


def test_pinned_to_the_pulled_digest_with_docker_compose_shape(tmp_path: Path) -> None:
    project = _project(tmp_path, textwrap.dedent(f"""\
        web: {{image: busybox}}
        db: {{image: "reg.local:5000/db:16"}}
        fixed: {{image: "busybox@{DIGEST}"}}
        built: {{build: .}}
    """))
    engine = _engine({
        "busybox": (f"busybox@{DIGEST}",),
        "reg.local:5000/db:16": (f"reg.local:5000/db@{DIGEST}",),
    })
    assert pinned_images(engine, project) == {
        "web": f"busybox:latest@{DIGEST}",
        "db": f"reg.local:5000/db:16@{DIGEST}",
        "fixed": f"busybox@{DIGEST}",
    }


def test_an_image_missing_or_without_registry_digest_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, "a: {image: gone}\nb: {image: mine}\n")
    with pytest.raises(ComposeError) as caught:
        pinned_images(_engine({"mine": ()}), project)
    assert str(caught.value).splitlines() == [
        "service a: image gone is not present: pull it to pin its digest",
        "service b: image mine has no registry digest (built, imported or loaded here)",
    ]
