"""Which services `restart` touches, and in which order — docker compose v2's rules, kept pure so
they are unit-tested without a kernel.

docker compose `restart SERVICE` restarts SERVICE and, unless `--no-deps`, every service that
depends on it with `restart: true` (transitively); plain `depends_on` entries do not pull
dependents in. Dependencies restart first, and a dependent waits for its `restart: true`
dependencies' conditions (`service_healthy`, …) before it restarts. Without a service name,
every service restarts, in the same order. A service in another's namespace
(`network_mode: service:X`, `ipc`/`pid` likewise) counts as depending on X with `restart: true`,
as compose-go's implicit dependency says: X's restart makes a new namespace, and the joined
container must follow it or keep one no network reaches.
"""

from __future__ import annotations

from compose.graph import dependencies
from compose.model import Project, Service
from compose.scheduler import Edge

NAMESPACE_KINDS = ("network_mode", "ipc", "pid")


def _edges_of(project: Project, service: Service) -> tuple[Edge, ...]:
    edges = [
        Edge(d.service, d.condition, d.required)
        for d in service.depends_on
        if d.restart and d.service in project.services
    ]
    named = {e.dependency for e in edges}
    for dep in dependencies(service):
        joined = dep.kind in NAMESPACE_KINDS and dep.service in project.services
        if joined and dep.service not in named:
            named.add(dep.service)
            edges.append(Edge(dep.service))
    return tuple(edges)


def _restart_edges(project: Project) -> dict[str, tuple[Edge, ...]]:
    """The `depends_on` entries marked `restart: true`, and the namespaces joined."""
    return {name: _edges_of(project, service) for name, service in project.services.items()}


def restart_nodes(
    project: Project, services: tuple[str, ...], no_deps: bool = False
) -> dict[str, tuple[Edge, ...]]:
    """The scheduler's nodes for `restart [--no-deps] [SERVICE…]`."""
    edges = _restart_edges(project)
    if not services:
        chosen = set(project.services)
    else:
        chosen = {s for s in services if s in project.services}
        if not no_deps:
            todo = list(chosen)
            while todo:
                dependency = todo.pop()
                for name, own in edges.items():
                    if name not in chosen and any(e.dependency == dependency for e in own):
                        chosen.add(name)
                        todo.append(name)
    return {
        name: tuple(e for e in edges[name] if e.dependency in chosen) for name in sorted(chosen)
    }
