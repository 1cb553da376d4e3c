"""The service graph: start order, dependents, cycles named, every kind of dependency."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.graph import dependency_graph, dependents, start_levels, stop_levels
from compose.loader import load_project
from compose.model import DependencyCondition, LoadOptions


def project_from(tmp_path: Path, text: str):
    (tmp_path / "compose.yaml").write_text(text)
    return load_project(LoadOptions(environ={}, cwd=tmp_path))


STACK = """
services:
  db: {image: busybox}
  cache: {image: busybox}
  api:
    image: busybox
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started, required: false}
  web:
    image: busybox
    links: ["api:backend"]
  sidecar:
    image: busybox
    network_mode: "service:web"
  backup:
    image: busybox
    volumes_from: [db]
  shm-reader:
    image: busybox
    ipc: "service:db"
  debugger:
    image: busybox
    pid: "service:api"
"""


def test_edges_from_every_kind_of_dependency(tmp_path: Path) -> None:
    graph = dependency_graph(project_from(tmp_path, STACK))
    assert graph.edges["db", "api"]["condition"] is DependencyCondition.HEALTHY
    assert graph.edges["cache", "api"]["required"] is False
    assert graph.edges["api", "web"]["kind"] == "links"
    assert graph.edges["web", "sidecar"]["kind"] == "network_mode"
    assert graph.edges["db", "backup"]["kind"] == "volumes_from"
    # joining a service's IPC or pid namespace needs it running first (compose does the same)
    assert graph.edges["db", "shm-reader"]["kind"] == "ipc"
    assert graph.edges["api", "debugger"]["kind"] == "pid"


def test_start_and_stop_order(tmp_path: Path) -> None:
    graph = dependency_graph(project_from(tmp_path, STACK))
    levels = start_levels(graph)
    assert levels[0] == ["cache", "db"]
    flat = [name for level in levels for name in level]
    assert flat.index("api") < flat.index("web") < flat.index("sidecar")
    assert stop_levels(graph)[-1] == ["cache", "db"]
    assert start_levels(graph, ["web"]) == [["cache", "db"], ["api"], ["web"]]


def test_dependents_are_transitive(tmp_path: Path) -> None:
    graph = dependency_graph(project_from(tmp_path, STACK))
    assert dependents(graph, "db") == {"api", "web", "sidecar", "backup", "shm-reader", "debugger"}
    assert dependents(graph, "sidecar") == set()


def test_cycle_is_named(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a: {image: x, links: [b]}\n  b: {image: x, depends_on: [a]}\n"
    )
    with pytest.raises(ComposeError, match="cycle"):
        project = load_project(LoadOptions(environ={}, cwd=tmp_path))
        dependency_graph(project)
