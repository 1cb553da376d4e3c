"""`build --print`: the Bake file compose would run, printed instead of building."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compose.cli.app import app

STACK = """
services:
  web:
    image: example.test/web:1
    build:
      context: ./ctx
      args: {A: "1", FROM_ENV: null, UNSET: null}
      labels: {team: core}
      tags: ["example.test/web:extra"]
      target: final
      secrets: [token]
      platforms: [linux/amd64, linux/arm64]
  api.v2:
    build: ./ctx
  cache: {image: busybox}
secrets:
  token: {environment: TOKEN}
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "compose.yaml").write_text(STACK)
    monkeypatch.chdir(tmp_path)
    for name in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES", "UNSET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FROM_ENV", "shell")
    monkeypatch.setattr("engine.api.Engine", None)  # printing must not reach the engine
    return tmp_path


def _print(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["-p", "demo", "build", "--print", *args])
    assert result.exit_code == 0, f"{result.output}{result.exception!r}"
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_every_buildable_service_is_a_target_and_the_group_names_those_built(
    stack: Path,
) -> None:
    bake = _print("api.v2")
    assert bake["group"] == {"default": {"targets": ["api_v2"]}}
    targets = bake["target"]
    assert isinstance(targets, dict) and list(targets) == ["api_v2", "web"]
    assert targets["api_v2"] == {
        "context": str(stack / "ctx"),
        "dockerfile": str(stack / "ctx" / "Dockerfile"),
        "tags": ["demo-api.v2"],
        "output": ["type=docker,load=true,push=false"],
    }


def test_a_target_carries_args_labels_tags_secrets_and_flags(stack: Path) -> None:
    web = _print("--build-arg", "A=2", "--no-cache", "--pull", "--push", "web")["target"]
    assert isinstance(web, dict)
    assert web["web"] == {
        "context": str(stack / "ctx"),
        "dockerfile": str(stack / "ctx" / "Dockerfile"),
        "args": {"A": "2", "FROM_ENV": "shell"},
        "labels": {"team": "core"},
        "tags": ["example.test/web:extra", "example.test/web:1"],
        "target": "final",
        "secret": ["id=token,type=env,env=TOKEN"],
        "platforms": ["linux/amd64", "linux/arm64"],
        "pull": True,
        "no-cache": True,
        "output": ["type=image,push=true"],
    }


def test_a_stack_with_nothing_to_build_prints_an_empty_group(
    stack: Path, tmp_path: Path,
) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  cache: {image: busybox}\n")
    assert _print() == {"group": {"default": {"targets": None}}, "target": {}}
