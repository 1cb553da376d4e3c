"""The dependency graph of a project's services (networkx), and the orders walked over it."""

from __future__ import annotations

import networkx as nx

from compose.errors import ComposeError
from compose.model import Project, Service


def _dependencies(service: Service) -> set[str]:
    deps = {d.service for d in service.depends_on}
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        deps.add(mode.removeprefix("service:"))
    return deps


def dependency_graph(project: Project) -> nx.DiGraph:
    """Edges point from a dependency to its dependent: a topological order is a start order."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(project.services)
    for name, service in project.services.items():
        for dep in _dependencies(service):
            if dep in project.services:
                graph.add_edge(dep, name)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    names = [edge[0] for edge in cycle] + [cycle[0][0]]
    raise ComposeError(f"dependency cycle detected: {' -> '.join(names)}")


def start_levels(graph: nx.DiGraph, services: list[str] | None = None) -> list[list[str]]:
    """Services grouped so each group only needs earlier groups; within a group, run in parallel.

    With `services` named, their dependencies are included (like `up web` starts web's deps).
    """
    if services:
        wanted = set(services)
        for name in services:
            wanted |= nx.ancestors(graph, name)
        graph = graph.subgraph(wanted)
    return [sorted(level) for level in nx.topological_generations(graph)]


def stop_levels(graph: nx.DiGraph, services: list[str] | None = None) -> list[list[str]]:
    """Reverse of the start order: dependents stop before what they depend on."""
    levels = [sorted(level) for level in nx.topological_generations(graph)]
    if services:
        wanted = set(services)
        levels = [[s for s in level if s in wanted] for level in levels]
    return [level for level in reversed(levels) if level]
