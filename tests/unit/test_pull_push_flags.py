"""`pull --include-deps/--policy`, `push --include-deps` and the build flags compose has that
the builder cannot honour, through the CLI app with a recording engine."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from compose.cli.app import app

STACK = """
services:
  web:
    image: example.test/web:1
    depends_on: [db]
  db:
    image: example.test/db:1
  tool:
    image: example.test/tool:1
"""


class RecordingEngine:
    """Pulls and pushes nothing: remembers what it was asked, in order. `Engine()` gives
    the one instance (the CLI checks isinstance against engine.api.Engine)."""

    the: RecordingEngine

    def __new__(cls, root: object = None) -> RecordingEngine:
        return cls.the

    @classmethod
    def make(cls, present: set[str]) -> RecordingEngine:
        fake = object.__new__(cls)
        fake.pulled, fake.pushed, fake.present = [], [], present
        fake.images = SimpleNamespace(find=lambda ref: ref if ref in present else None)
        cls.the = fake
        return fake

    pulled: list[str]
    pushed: list[str]
    present: set[str]
    images: Any

    def pull_image(self, reference: str, platform: str | None = None) -> Any:
        self.pulled.append(reference)
        return SimpleNamespace(id="sha256:" + "0" * 64)

    def push_image(self, reference: str, *_args: object) -> None:
        self.pushed.append(reference)


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordingEngine:
    (tmp_path / "compose.yaml").write_text(STACK)
    monkeypatch.chdir(tmp_path)
    for name in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES"):
        monkeypatch.delenv(name, raising=False)
    fake = RecordingEngine.make({"example.test/db:1"})
    monkeypatch.setattr("engine.api.Engine", RecordingEngine)
    return fake


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["-p", "demo", *args])


def test_pull_of_a_service_leaves_its_dependencies_unless_include_deps(
    engine: RecordingEngine,
) -> None:
    assert _cli("pull", "-q", "web").exit_code == 0
    assert engine.pulled == ["example.test/web:1"]
    engine.pulled.clear()
    assert _cli("pull", "-q", "--include-deps", "web").exit_code == 0
    assert engine.pulled == ["example.test/db:1", "example.test/web:1"]


def test_pull_policy_missing_skips_images_already_here(engine: RecordingEngine) -> None:
    result = _cli("pull", "--policy", "missing")
    assert result.exit_code == 0, result.output
    assert engine.pulled == ["example.test/web:1", "example.test/tool:1"]
    assert " db Skipped - Image is already present locally" in result.stderr
    engine.pulled.clear()
    assert _cli("pull", "-q", "--policy", "always", "db").exit_code == 0
    assert engine.pulled == ["example.test/db:1"]


def test_pull_policy_other_values_are_refused_before_pulling(engine: RecordingEngine) -> None:
    result = _cli("pull", "--policy", "sometimes")
    assert result.exit_code == 1
    assert 'invalid --policy "sometimes"' in str(result.exception)
    assert engine.pulled == []


def test_push_include_deps(engine: RecordingEngine) -> None:
    assert _cli("push", "-q", "web").exit_code == 0
    assert engine.pushed == ["example.test/web:1"]
    engine.pushed.clear()
    assert _cli("push", "-q", "--include-deps", "web").exit_code == 0
    assert engine.pushed == ["example.test/db:1", "example.test/web:1"]


@pytest.mark.parametrize(("flags", "error"), [
    (["--ssh", "default"], "--ssh is not supported"),
    (["--provenance", "mode=max"], "--provenance=mode=max is not supported"),
    (["--sbom", "true"], "--sbom=true is not supported"),
])
def test_build_flags_the_builder_cannot_honour_are_refused(
    engine: RecordingEngine, flags: list[str], error: str,
) -> None:
    result = _cli("build", *flags)
    assert result.exit_code == 1
    assert error in str(result.exception)


def test_build_accepts_what_changes_nothing_here(engine: RecordingEngine) -> None:
    result = _cli("build", "--builder", "default", "-m", "1g", "--provenance=false",
                  "--sbom", "false")
    assert result.exit_code == 0, result.output
