"""A create that fails (the loser of two concurrent `up`s finds its container name taken)
leaves none of the anonymous volumes it made; a recreate's inherited ones are never touched."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions
from compose.orchestrator import ANONYMOUS_VOLUME, Orchestrator, UpOptions
from engine.errors import AlreadyExistsError
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: race
    services:
      db:
        image: busybox
        volumes: [/anon, shared:/shared]
    volumes:
      shared: {}
"""


def _orchestrator(tmp_path: Path, engine: FakeEngine) -> Orchestrator:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(STACK))
    project = load_project(LoadOptions(cwd=tmp_path, environ={}))
    return Orchestrator(engine, project)  # type: ignore[arg-type]


def _anonymous(engine: FakeEngine) -> set[str]:
    return {n for n, labels in engine.volumes_made.items() if labels.get(ANONYMOUS_VOLUME)}


def test_a_create_that_loses_the_name_race_removes_the_anonymous_volumes_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()
    orch = _orchestrator(tmp_path, engine)

    def taken(*_args: Any, **_kwargs: Any) -> Any:
        raise AlreadyExistsError('container name "race-db-1" is already in use')

    monkeypatch.setattr(engine, "create_container", taken)
    with pytest.raises(ComposeError, match="already in use"):
        orch.up()
    assert _anonymous(engine) == set()
    assert "race_shared" in engine.volumes_made  # the project's named volume stays


def test_a_failed_recreate_keeps_the_volumes_it_inherits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()
    orch = _orchestrator(tmp_path, engine)
    orch.up()
    before = _anonymous(engine)
    assert len(before) == 1

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AlreadyExistsError("no")

    monkeypatch.setattr(engine, "create_container", refused)
    with pytest.raises(ComposeError):
        orch.up(UpOptions(force_recreate=True))
    assert _anonymous(engine) == before  # the data of the running container's volume is safe
