"""A lock-free read of every network with its live endpoints, apart from the driver.

For readers that poll often and import little: the DNS resolver is a process of its own that
must answer soon after it starts, and the driver facade (:mod:`netdriver.api`) would bring
the firewall, netlink and IPAM code it never uses. State files are replaced atomically, so a
read without the lock sees a whole old or whole new file; nothing is pruned here.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address
from pathlib import Path

from netdriver.endpoint_store import EndpointStore, decode, endpoint_prefix
from netdriver.liveness import is_alive
from netdriver.model import Endpoint, Network
from netdriver.state import StateStore


def live_networks(state_dir: Path) -> list[tuple[Network, list[Endpoint]]]:
    """Every network under ``state_dir`` with the endpoints whose owner still runs (by
    address). Endpoint files still empty (an attach in progress) are skipped."""
    store = StateStore(Path(state_dir))
    endpoints = EndpointStore(store.dir)
    listing = endpoints.listing()
    out = []
    for rec in store.load_all():
        live = [
            s.endpoint for s in endpoints.endpoints(rec.network, listing)
            if s.endpoint is not None and (
                s.endpoint.owner_pid is None or is_alive(s.endpoint.owner_pid, s.owner_start)
            )
        ]
        out.append((rec.network, sorted(live, key=lambda e: IPv4Address(e.ipv4))))
    return out


class CachedLiveNetworks:
    """:func:`live_networks` for a reader that asks again and again (the resolver reloads on
    every container start): each endpoint file is parsed once.

    A complete endpoint file never changes in place: new content arrives by rename, as a new
    inode, so (name, inode) from one directory scan says whether the parse is still good.
    Liveness is asked at every read: a killed owner changes no file.
    """

    def __init__(self, state_dir: Path) -> None:
        self._store = StateStore(Path(state_dir))
        self._parsed: dict[str, tuple[int, Endpoint, int | None]] = {}

    def read(self) -> list[tuple[Network, list[Endpoint]]]:
        try:
            with os.scandir(self._store.dir) as it:
                inodes = {entry.name: entry.inode() for entry in it}
        except FileNotFoundError:
            inodes = {}
        parsed: dict[str, tuple[int, Endpoint, int | None]] = {}
        out = []
        for rec in self._store.load_all():
            start = endpoint_prefix(rec.network)
            live = []
            for name, inode in inodes.items():
                if not name.startswith(start):
                    continue
                hit = self._parsed.get(name)
                if hit is None or hit[0] != inode:
                    try:
                        got = decode((self._store.dir / name).read_bytes())
                    except FileNotFoundError:
                        continue
                    if got is None:  # an attach in progress: read again next time
                        continue
                    hit = (inode, *got)
                parsed[name] = hit
                _, ep, owner_start = hit
                if ep.owner_pid is None or is_alive(ep.owner_pid, owner_start):
                    live.append(ep)
            out.append((rec.network, sorted(live, key=lambda e: IPv4Address(e.ipv4))))
        self._parsed = parsed
        return out
