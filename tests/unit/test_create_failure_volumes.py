"""A create that fails (the loser of two concurrent `up`s finds its container name taken)
leaves none of the anonymous volumes it made; a recreate's inherited ones are never touched.
The loser joins the container the winner made when it is the same one (service, replica,
configuration)."""

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


def _race_lost_to(engine: FakeEngine, monkeypatch: pytest.MonkeyPatch, twin_spec: Any) -> None:
    """The next create finds its name taken by a container another `up` made just before."""
    real_create = engine.create_container

    def lost(spec: Any, replacing: str | None = None) -> Any:
        real_create(twin_spec(spec))
        monkeypatch.setattr(engine, "create_container", real_create)
        return real_create(spec, replacing)  # raises AlreadyExistsError: the name is taken

    monkeypatch.setattr(engine, "create_container", lost)


def test_a_concurrent_up_that_made_the_same_container_is_joined_not_a_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two test workers bringing up one shared stack: the `up` that loses the name race starts
    (and reports) the container the other made, of the same service and configuration."""
    engine = FakeEngine()
    orch = _orchestrator(tmp_path, engine)
    _race_lost_to(engine, monkeypatch, lambda spec: spec)
    infos = orch.up()
    assert [(i.name, i.status.value) for i in infos] == [("race-db-1", "running")]
    assert [a for _t, a, _n in engine.timeline].count("create") == 1


def test_a_different_container_under_the_name_is_still_a_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    engine = FakeEngine()
    orch = _orchestrator(tmp_path, engine)
    _race_lost_to(engine, monkeypatch, lambda spec: dataclasses.replace(
        spec, labels={**spec.labels, "com.docker.compose.config-hash": "another"}))
    with pytest.raises(ComposeError, match='"race-db-1" is already in use'):
        orch.up()
