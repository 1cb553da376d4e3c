"""`restart` picks services like docker compose v2: dependents only through `restart: true`."""

from __future__ import annotations

from pathlib import Path

from compose.loader import load_project
from compose.model import DependencyCondition, LoadOptions
from compose.restart_plan import restart_nodes

STACK = """
services:
  db: {image: busybox}
  api:
    image: busybox
    depends_on:
      db: {condition: service_healthy, restart: true}
  worker:
    image: busybox
    depends_on: [db]
  web:
    image: busybox
    depends_on:
      api: {condition: service_started, restart: true}
  lone: {image: busybox}
"""


def _project(tmp_path: Path):
    (tmp_path / "compose.yaml").write_text(STACK)
    return load_project(LoadOptions(environ={}, cwd=tmp_path))


def test_named_service_pulls_in_restart_true_dependents_transitively(tmp_path: Path) -> None:
    nodes = restart_nodes(_project(tmp_path), ("db",))
    assert set(nodes) == {"db", "api", "web"}  # not worker: a plain depends_on
    assert [(e.dependency, e.condition) for e in nodes["api"]] == [
        ("db", DependencyCondition.HEALTHY)
    ]
    assert [e.dependency for e in nodes["web"]] == ["api"]
    assert nodes["db"] == ()


def test_no_deps_restarts_only_the_named_services(tmp_path: Path) -> None:
    assert set(restart_nodes(_project(tmp_path), ("db",), no_deps=True)) == {"db"}
    both = restart_nodes(_project(tmp_path), ("db", "api"), no_deps=True)
    assert [e.dependency for e in both["api"]] == ["db"]  # still ordered among themselves


def test_no_name_restarts_everything_ordered_only_by_restart_true_edges(tmp_path: Path) -> None:
    nodes = restart_nodes(_project(tmp_path), ())
    assert set(nodes) == {"db", "api", "worker", "web", "lone"}
    assert nodes["worker"] == ()  # plain depends_on does not order a restart
    assert [e.dependency for e in nodes["web"]] == ["api"]


def test_a_service_in_another_s_namespace_follows_its_restart(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web: {image: busybox}\n"
        "  side: {image: busybox, network_mode: 'service:web'}\n"
        "  shm: {image: busybox, ipc: 'service:web'}\n"
    )
    nodes = restart_nodes(load_project(LoadOptions(environ={}, cwd=tmp_path)), ("web",))
    assert set(nodes) == {"web", "side", "shm"}
    assert [e.dependency for e in nodes["side"]] == ["web"]
