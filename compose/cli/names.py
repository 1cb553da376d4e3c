"""How containers are named in log prefixes: `web-1` like docker compose, not the full name."""

from __future__ import annotations

from compose import labels as L

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from engine.api import ContainerInfo


def log_prefix(info: ContainerInfo) -> str:
    service = info.labels.get(L.SERVICE)
    number = info.labels.get(L.NUMBER)
    project = info.labels.get(L.PROJECT)
    if service and number and info.name == f"{project}-{service}-{number}":
        return f"{service}-{number}"
    return info.name
