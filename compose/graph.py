"""The dependency graph of a project's services (networkx), and the orders walked over it.

Edges point from a dependency to its dependent and carry why they exist (`kind`: depends_on,
links, network_mode, ipc, pid, volumes_from) plus, for depends_on, the `condition` and
`required` flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from compose.errors import ComposeError
from compose.model import DependencyCondition, Project, Service

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:  # networkx costs ~55 ms to import: loaded by the functions that walk a graph
    import networkx as nx


@dataclass(frozen=True)
class Dependency:
    """An edge of the dependency graph and why it exists (`kind`): only depends_on sets a
    condition or makes it optional; links, network_mode and the rest need the service started."""

    service: str
    kind: str
    condition: DependencyCondition = DependencyCondition.STARTED
    required: bool = True


def _raw_names(service: Service, key: str) -> list[str]:
    value = service.raw.get(key) or []
    return [str(item) for item in value] if isinstance(value, list) else []


def dependencies(service: Service) -> list[Dependency]:
    """Everything a service needs started first, in the order a user would name it."""
    found = [
        Dependency(d.service, "depends_on", d.condition, d.required) for d in service.depends_on
    ]
    for link in _raw_names(service, "links"):
        found.append(Dependency(link.split(":", 1)[0], "links"))
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        found.append(Dependency(mode.removeprefix("service:"), "network_mode"))
    for key in ("ipc", "pid"):  # joining a service's namespace needs it running, as compose
        value = service.raw.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            found.append(Dependency(value.removeprefix("service:"), key))
    for source in _raw_names(service, "volumes_from"):
        if not source.startswith("container:"):
            found.append(Dependency(source.split(":", 1)[0], "volumes_from"))
    return found


def dependency_graph(project: Project) -> nx.DiGraph:
    """A topological order of this graph is a start order; a cycle is an error naming it."""
    import networkx as nx

    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(project.services)
    for name, service in project.services.items():
        for dep in dependencies(service):
            if dep.service in project.services and not graph.has_edge(dep.service, name):
                graph.add_edge(
                    dep.service,
                    name,
                    kind=dep.kind,
                    condition=dep.condition,
                    required=dep.required,
                )
    if nx.is_directed_acyclic_graph(graph):
        return graph
    cycle = nx.find_cycle(graph)
    names = [edge[0] for edge in cycle] + [cycle[0][0]]
    raise ComposeError(f"dependency cycle detected: {' -> '.join(names)}")


def dependents(graph: nx.DiGraph, service: str) -> set[str]:
    """Every service that (transitively) needs `service`: what a recreate may have to touch."""
    import networkx as nx

    return set(nx.descendants(graph, service))


def start_levels(graph: nx.DiGraph, services: list[str] | None = None) -> list[list[str]]:
    """Services grouped so each group only needs earlier groups; within a group, run in parallel.

    With `services` named, their dependencies are included (like `up web` starts web's deps).
    """
    import networkx as nx

    if services:
        wanted = set(services)
        for name in services:
            wanted |= nx.ancestors(graph, name)
        graph = graph.subgraph(wanted)
    return [sorted(level) for level in nx.topological_generations(graph)]


def stop_levels(graph: nx.DiGraph, services: list[str] | None = None) -> list[list[str]]:
    """Reverse of the start order: dependents stop before what they depend on."""
    import networkx as nx

    levels = [sorted(level) for level in nx.topological_generations(graph)]
    if services:
        wanted = set(services)
        levels = [[s for s in level if s in wanted] for level in levels]
    return [level for level in reversed(levels) if level]
