"""/etc/hosts for containers: how service names resolve on a network (for now).

Every container's hosts file lists every live endpoint of every network it is on. Files are
rewritten in place (same inode), because each is bind-mounted into its container: a rename
would leave the container looking at the old file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.atomic_files import locked
from engine.layout import Layout
from netdriver.api import Endpoint, NetworkDriver

HEADER = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def render_hosts(own_hostname: str, own: list[Endpoint], peers: list[Endpoint]) -> str:
    lines = [HEADER.rstrip("\n")]
    own_id = own[0].endpoint_id if own else None
    for endpoint in own:
        lines.append(f"{endpoint.ipv4}\t{own_hostname}")
    seen: set[str] = set()
    for endpoint in peers:
        line = f"{endpoint.ipv4}\t{' '.join(endpoint.names)}"
        if endpoint.endpoint_id == own_id or not endpoint.names or line in seen:
            continue
        seen.add(line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _rewrite_in_place(path: Path, text: str) -> None:
    try:
        with open(path, "r+", encoding="utf-8") as handle:
            handle.write(text)
            handle.truncate()
    except FileNotFoundError:
        return


def refresh_hosts(layout: Layout, driver: NetworkDriver, changed: Iterable[str]) -> None:
    """Rewrite the hosts file of every container on the changed networks."""
    with locked(layout.locks / "hosts.lock"):
        endpoints = {n.name: driver.endpoints(n.name) for n in driver.list_networks()}
        affected = {e.endpoint_id for name in changed for e in endpoints.get(name, [])}
        for container_id in affected:
            own = [e for eps in endpoints.values() for e in eps if e.endpoint_id == container_id]
            peers = [e for o in own for e in endpoints[o.network]]
            directory = layout.container_dir(container_id)
            try:
                hostname = (directory / "hostname").read_text().strip()
            except OSError:
                continue
            _rewrite_in_place(directory / "hosts", render_hosts(hostname, own, peers))
