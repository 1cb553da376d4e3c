"""The drivers a network or volume definition names, checked before `up` or `run` makes anything.

This engine has one network driver (bridge, with Docker's default IPAM) and one volume driver
(local), as a Docker daemon without plugins or swarm. Such a daemon refuses another driver when
the network or volume is created; here the definition was made as a bridge or a local volume
and nothing said so. `docker compose config` accepts any name, so validation does too.
"""

from __future__ import annotations

from collections.abc import Iterable

from compose.errors import ComposeError
from compose.model import Project

NETWORK_DRIVERS = frozenset({"bridge"})
VOLUME_DRIVERS = frozenset({"local"})
IPAM_DRIVERS = frozenset({"default"})
# Docker's own drivers that this engine lacks, and what Docker says of a swarm one off swarm.
_DOCKER_NETWORK_DRIVERS = frozenset({"macvlan", "ipvlan", "host", "none", "null"})
_SWARM_NETWORK_DRIVERS = frozenset({"overlay"})


def _network_problem(key: str, driver: str) -> str:
    if driver in _SWARM_NETWORK_DRIVERS:
        return (f'network {key}: driver "{driver}" needs a swarm manager (Docker: "This node is '
                'not a swarm manager"), which pycompose\'s engine is not')
    if driver in _DOCKER_NETWORK_DRIVERS:
        return f'network {key}: driver "{driver}" is not supported by pycompose\'s engine (bridge)'
    return f'network {key}: plugin "{driver}" not found (the network driver; bridge is the one)'


def driver_problems(project: Project, services: Iterable[str]) -> list[str]:
    """One line per network, IPAM or volume driver the services' resources would need."""
    networks: dict[str, None] = {}
    volumes: dict[str, None] = {}
    for name in services:
        service = project.services.get(name)
        if service is None:
            continue
        if not service.network_mode:
            networks.update((a.name, None) for a in service.networks)
        volumes.update((v.source, None) for v in service.volumes
                       if v.source and v.type.value == "volume")
    problems = []
    raw_networks = project.raw.get("networks") or {}
    for key in networks:
        network = project.networks.get(key)
        if network is None or network.external:
            continue  # unknown: validation's; external: it exists with its own driver
        if network.driver and network.driver not in NETWORK_DRIVERS:
            problems.append(_network_problem(key, network.driver))
        ipam = ((raw_networks.get(key) or {}).get("ipam") or {}).get("driver")
        if ipam not in (None, "", *IPAM_DRIVERS):
            problems.append(f'network {key}: ipam driver: plugin "{ipam}" not found (the '
                            "default IPAM is the one)")
    for key in volumes:
        volume = project.volumes.get(key)
        if volume is None or volume.external:
            continue
        if volume.driver and volume.driver not in VOLUME_DRIVERS:
            problems.append(f'volume {key}: error looking up volume plugin {volume.driver}: '
                            f'plugin "{volume.driver}" not found (local is the one)')
    return problems


def check_drivers(project: Project, services: Iterable[str]) -> None:
    problems = driver_problems(project, services)
    if problems:
        raise ComposeError("\n".join(problems))
