"""Which container a command about one service acts on (`commit`, `attach`): docker compose's
choice among the service's running containers, with its errors."""

from __future__ import annotations

from compose import labels as L
from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo


class ServiceNotRunningError(ComposeError):
    """The service has no running container (with that index)."""


def _order(info: ContainerInfo) -> tuple[int, bool]:
    number = info.labels.get(L.NUMBER, "0")
    return (int(number) if number.isdigit() else 0, info.labels.get(L.ONEOFF) == "True")


def pick(infos: list[ContainerInfo], service: str, index: int) -> ContainerInfo:
    """Among a service's containers: the running (or paused, or restarting) ones, with
    replica number `index` when it is above 0; the lowest number first, a service container
    before a one-off with the same number (docker compose's getSpecifiedContainer)."""
    running = [
        c for c in infos
        if c.status.active and (index <= 0 or c.labels.get(L.NUMBER) == str(index))
    ]
    if not running:
        which = f" container #{index}" if index > 0 else ""
        raise ServiceNotRunningError(f'service "{service}" is not running{which}')
    return min(running, key=_order)


def running_container(orch: Orchestrator, service: str, index: int) -> ContainerInfo:
    """The container `service` (a service of the project) names, one-offs included."""
    orch.check_services((service,))
    return pick(orch.containers((service,), include_oneoff=True), service, index)
