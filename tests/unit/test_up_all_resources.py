"""The global `--all-resources` on `up` (compose v2.27+): the networks and volumes no service
uses are made too; without it only what the services use, as docker compose's default."""

from __future__ import annotations

import textwrap
from pathlib import Path

from compose.loader import load_project
from compose.model import LoadOptions
from compose.orchestrator import Orchestrator
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: allres
    services:
      a:
        image: busybox
        volumes: [used:/data]
      h:
        image: busybox
        network_mode: host
    networks:
      spare: {}
    volumes:
      used: {}
      spare: {}
"""


def _up(tmp_path: Path, all_resources: bool) -> FakeEngine:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(STACK))
    engine = FakeEngine()
    orch = Orchestrator(engine, load_project(LoadOptions(cwd=tmp_path, environ={})))  # type: ignore[arg-type]
    orch.all_resources = all_resources
    orch.up()
    return engine


def test_up_makes_only_what_services_use_by_default(tmp_path: Path) -> None:
    engine = _up(tmp_path, all_resources=False)
    assert set(engine.networks_made) == {"allres_default"}
    assert set(engine.volumes_made) == {"allres_used"}


def test_all_resources_makes_the_unused_ones_too(tmp_path: Path) -> None:
    engine = _up(tmp_path, all_resources=True)
    assert set(engine.networks_made) == {"allres_default", "allres_spare"}
    assert set(engine.volumes_made) == {"allres_used", "allres_spare"}
