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
    own_ids = {(e.network, e.endpoint_id) for e in own}
    for endpoint in own:
        lines.append(f"{endpoint.ipv4}\t{own_hostname}")
    seen: set[tuple[str, str]] = set()
    for endpoint in peers:
        key = (endpoint.ipv4, " ".join(endpoint.names))
        if (endpoint.network, endpoint.endpoint_id) in own_ids or key in seen or not endpoint.names:
            continue
        seen.add(key)
        lines.append(f"{endpoint.ipv4}\t{' '.join(endpoint.names)}")
    return "\n".join(lines) + "\n"


def _rewrite_in_place(path: Path, text: str) -> None:
    try:
        with open(path, "r+", encoding="utf-8") as handle:
            handle.write(text)
            handle.truncate()
    except FileNotFoundError:
        return


def refresh_hosts(layout: Layout, driver: NetworkDriver, networks: Iterable[str]) -> None:
    """Rewrite the hosts file of every container on these networks."""
    with locked(layout.locks / "hosts.lock"):
        by_network = {name: driver.endpoints(name) for name in set(networks)}
        containers: dict[str, list[Endpoint]] = {}
        for endpoints in by_network.values():
            for endpoint in endpoints:
                containers.setdefault(endpoint.endpoint_id, [])
        # A container may sit on networks beyond the ones that changed: include them all.
        all_networks = {n.name: None for n in driver.list_networks()}
        for name in all_networks:
            endpoints = by_network.get(name)
            if endpoints is None:
                endpoints = driver.endpoints(name)
                by_network[name] = endpoints
            for endpoint in endpoints:
                if endpoint.endpoint_id in containers:
                    containers[endpoint.endpoint_id].append(endpoint)
        for container_id, own in containers.items():
            peers = [e for n in {o.network for o in own} for e in by_network[n]]
            hostname_file = layout.container_dir(container_id) / "hostname"
            try:
                hostname = hostname_file.read_text().strip()
            except OSError:
                continue
            text = render_hosts(hostname, own, peers)
            _rewrite_in_place(layout.container_dir(container_id) / "hosts", text)
