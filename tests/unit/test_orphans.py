"""`up` and orphans as docker compose v2 does it: containers of services gone from the stack
file and exited one-off (`run`) containers are orphans; without --remove-orphans they are named
in one warning, in Go's list format (`[a b]`); COMPOSE_IGNORE_ORPHANS silences it."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from compose import labels as L
from compose.events import Event, Phase
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import Orchestrator, UpOptions
from engine.api import ContainerSpec, ContainerStatus
from tests.unit.fake_engine import FakeEngine

FULL = """
    name: orph
    services:
      web: {image: busybox}
      worker: {image: busybox}
      cron: {image: busybox}
"""
SMALLER = """
    name: orph
    services:
      web: {image: busybox}
"""
TAIL = (
    "for this project. If you removed or renamed this service in your compose file, you can "
    "run this command with the --remove-orphans flag to clean it up."
)


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=tmp_path, environ=environ or {}))


def _warnings(engine: FakeEngine, project: Project, **options: bool) -> list[str]:
    events: list[Event] = []
    Orchestrator(engine, project, events.append).up(UpOptions(**options))  # type: ignore[arg-type]
    return [e.detail for e in events if e.phase is Phase.WARNING]


def _names(engine: FakeEngine) -> set[str]:
    return {c.name for c in engine.list_containers()}


def test_the_warning_names_every_orphan_as_docker_compose_does(tmp_path: Path) -> None:
    engine = FakeEngine()
    Orchestrator(engine, _load(tmp_path, FULL)).up()  # type: ignore[arg-type]
    warnings = _warnings(engine, _load(tmp_path, SMALLER))
    assert warnings == [f"Found orphan containers ([orph-cron-1 orph-worker-1]) {TAIL}"]
    assert {"orph-cron-1", "orph-worker-1"} <= _names(engine)  # warned, left alone
    assert _warnings(engine, _load(tmp_path, SMALLER), remove_orphans=True) == []
    assert _names(engine) == {"orph-web-1"}
    assert _warnings(engine, _load(tmp_path, SMALLER)) == []  # nothing left to warn about


def test_exited_one_off_containers_are_orphans_running_ones_are_not(tmp_path: Path) -> None:
    engine = FakeEngine()
    project = _load(tmp_path, SMALLER)
    Orchestrator(engine, project).up()  # type: ignore[arg-type]
    for name in ("orph-web-run-0a1b2c3d", "orph-web-run-9f8e7d6c"):
        engine.create_container(ContainerSpec(name=name, image="busybox", labels={
            L.PROJECT: "orph", L.SERVICE: "web", L.ONEOFF: "True", L.NUMBER: "1"}))
    engine.start_container("orph-web-run-9f8e7d6c")  # still running: not an orphan
    done = engine._get("orph-web-run-0a1b2c3d")
    done.state = dataclasses.replace(done.state, status=ContainerStatus.EXITED, exit_code=0)
    assert _warnings(engine, project) == [
        f"Found orphan containers ([orph-web-run-0a1b2c3d]) {TAIL}"
    ]
    _warnings(engine, project, remove_orphans=True)
    assert "orph-web-run-0a1b2c3d" not in _names(engine)
    assert "orph-web-run-9f8e7d6c" in _names(engine)


def test_compose_ignore_orphans_silences_the_warning(tmp_path: Path) -> None:
    engine = FakeEngine()
    Orchestrator(engine, _load(tmp_path, FULL)).up()  # type: ignore[arg-type]
    quiet = _load(tmp_path, SMALLER, {"COMPOSE_IGNORE_ORPHANS": "True"})
    assert _warnings(engine, quiet) == []
    assert _warnings(engine, quiet, remove_orphans=True) == []  # ignored: not removed either
    assert "orph-worker-1" in _names(engine)
    (tmp_path / ".env").write_text("COMPOSE_IGNORE_ORPHANS=1\n")  # from .env as well
    assert _warnings(engine, _load(tmp_path, SMALLER)) == []
