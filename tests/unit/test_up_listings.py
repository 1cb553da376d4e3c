"""`up` reads the project's containers once for its whole plan (fork server, orphans, what
exists per service) and once for its result: each listing loads every container's record and
state, so a re-run `up` of 50 running services paid for four of them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import Orchestrator, UpOptions
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: listings
    services:
      a: {image: busybox}
      b: {image: busybox, depends_on: [a]}
"""


def load(tmp_path: Path, yaml: str) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(yaml))
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def counting(engine: FakeEngine) -> list[int]:
    calls = [0]
    original = engine.list_containers

    def list_containers(labels: dict[str, str] | None = None) -> Any:
        calls[0] += 1
        return original(labels)

    engine.list_containers = list_containers  # type: ignore[method-assign]
    return calls


def test_up_lists_the_project_once_for_its_plan(tmp_path: Path) -> None:
    project = load(tmp_path, STACK)
    engine = FakeEngine()
    first = Orchestrator(engine, project).up()  # type: ignore[arg-type]
    ids = sorted(c.id for c in first)
    assert len(ids) == 2
    calls = counting(engine)
    again = Orchestrator(engine, project).up()  # type: ignore[arg-type]
    assert sorted(c.id for c in again) == ids  # nothing changed: same containers
    assert calls[0] == 2  # the plan's listing and the result's
    assert engine.actions("prepare_to_start") == [""]  # all running: no fork server booted


def test_scaling_up_still_sees_what_runs(tmp_path: Path) -> None:
    project = load(tmp_path, STACK)
    engine = FakeEngine()
    Orchestrator(engine, project).up()  # type: ignore[arg-type]
    scaled = Orchestrator(engine, project).up(UpOptions(scale=(("a", 2),)))  # type: ignore[arg-type]
    names = sorted(c.name for c in scaled)
    assert names == ["listings-a-1", "listings-a-2", "listings-b-1"]
