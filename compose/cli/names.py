"""How containers are named in log prefixes: `web-1` like docker compose, not the full name
(`web_1` for one made with --compatibility)."""

from __future__ import annotations

from compose import labels as L

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from engine.api import ContainerInfo


def log_prefix(info: ContainerInfo) -> str:
    service = info.labels.get(L.SERVICE)
    number = info.labels.get(L.NUMBER)
    project = info.labels.get(L.PROJECT)
    for sep in "-_":  # `_`: containers made with --compatibility
        if service and number and info.name == f"{project}{sep}{service}{sep}{number}":
            return f"{service}{sep}{number}"
    return info.name
