"""Which of a container's networks gives it its default route, as Docker's sandbox picks its
gateway endpoint (libnetwork's endpoint ordering): the highest `gw_priority` (Engine API 1.48,
compose's `networks.X.gw_priority`, 0 by default), and among equals the network whose name
sorts first; a network without a way out (`internal`) never does. So the route does not
follow eth0: a container on `proj_back` and `proj_front` leaves through `proj_back`, and one
whose eth0 is internal through the next network that is not."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from engine.runtime_spec import NetworkRequest


def gateway_index(
    requests: Sequence[NetworkRequest], internal: Callable[[str], bool]
) -> int | None:
    """The index in `requests` of the network to route through; None when all are internal."""
    candidates = [i for i, request in enumerate(requests) if not internal(request.network)]
    if not candidates:
        return None
    return min(candidates, key=lambda i: (-requests[i].gw_priority, requests[i].network))
