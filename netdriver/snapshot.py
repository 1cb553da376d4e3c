"""A lock-free read of every network with its live endpoints, apart from the driver.

For readers that poll often and import little: the DNS resolver is a process of its own that
must answer soon after it starts, and the driver facade (:mod:`netdriver.api`) would bring
the firewall, netlink and IPAM code it never uses. State files are replaced atomically, so a
read without the lock sees a whole old or whole new record; nothing is pruned here.
"""

from __future__ import annotations

from pathlib import Path

from netdriver.liveness import is_alive
from netdriver.model import Endpoint, Network
from netdriver.state import StateStore


def live_networks(state_dir: Path) -> list[tuple[Network, list[Endpoint]]]:
    """Every network under ``state_dir`` with the endpoints whose owner still runs."""
    return [
        (
            r.network,
            [
                e.endpoint for e in r.endpoints
                if e.endpoint.owner_pid is None or is_alive(e.endpoint.owner_pid, e.owner_start)
            ],
        )
        for r in StateStore(Path(state_dir)).load_all()
    ]
