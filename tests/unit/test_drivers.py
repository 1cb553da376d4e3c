"""A network, IPAM or volume driver this engine has not (Docker without plugins or swarm refuses
it) fails `up` before anything is made: it was made as a bridge or local volume silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.drivers import driver_problems
from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import Orchestrator
from tests.unit.fake_engine import FakeEngine


def _project(tmp_path: Path, extra: str, service: str = "") -> Project:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  s:\n    image: busybox\n" + service + extra)
    return load_project(LoadOptions(cwd=tmp_path, project_name="p", environ={}))


@pytest.mark.parametrize(
    ("extra", "service", "problem"),
    [
        ("networks: {default: {driver: foo}}\n", "",
         'network default: plugin "foo" not found'),
        ("networks: {default: {driver: overlay}}\n", "",
         'network default: driver "overlay" needs a swarm manager'),
        ("networks: {default: {driver: macvlan}}\n", "",
         'network default: driver "macvlan" is not supported by pycompose\'s engine'),
        ("networks: {default: {ipam: {driver: foo}}}\n", "",
         'network default: ipam driver: plugin "foo" not found'),
        ("volumes: {v: {driver: foo}}\n", "    volumes: ['v:/data']\n",
         'volume v: error looking up volume plugin foo: plugin "foo" not found'),
    ],
)
def test_a_driver_this_engine_lacks_fails_up_before_anything_is_made(
    tmp_path: Path, extra: str, service: str, problem: str
) -> None:
    project = _project(tmp_path, extra, service)
    problems = driver_problems(project, ["s"])
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    engine = FakeEngine()
    with pytest.raises(ComposeError, match=problem.split(":")[0]):
        Orchestrator(engine, project).up()  # type: ignore[arg-type]
    assert engine.networks_made == {} and engine.volumes_made == {}


def test_the_engines_own_drivers_and_external_resources_pass(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        "networks:\n  default: {driver: bridge, ipam: {driver: default}}\n"
        "  ext: {external: true}\n"
        "volumes:\n  v: {driver: local}\n  unused: {driver: foo}\n",
        "    volumes: ['v:/data']\n    networks: [default, ext]\n")
    assert driver_problems(project, ["s"]) == []
