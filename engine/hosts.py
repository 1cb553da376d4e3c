"""The files that tell a container about names: /etc/hosts, /etc/resolv.conf, and how the
network mode decides them.

Names resolve first through the embedded DNS resolver (``engine.dns_server``), which is
what ``resolv.conf`` points at on bridge networks. /etc/hosts is kept as Docker keeps it
with its embedded DNS: localhost, the container's own hostname, ``extra_hosts`` — no peers,
so a start never touches another container's files.

Hosts files are rewritten in place (same inode), because each is bind-mounted into its
container: a rename would leave the container looking at the old file.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine import dns_records
from engine.containers import ContainerRecord, ContainerStatus, ContainerStore
from engine.errors import InvalidArgumentError, InvalidStateError
from engine.layout import Layout
from engine.processes import is_alive
from netdriver.api import Endpoint, NetworkDriver

HEADER = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""

EXTRA_HOSTS_FILE = "extra-hosts"
DNS_UPSTREAMS_FILE = "dns-upstreams"
HOST_GATEWAY = "host-gateway"


# `host.domain host` when the container has a domainname (Docker's hosts line); absent else.
FQDN_FILE = "fqdn"


def render_hosts(
    own_hostname: str, own: list[Endpoint], peers: list[Endpoint], extra: Sequence[str] = ()
) -> str:
    lines = [HEADER.rstrip("\n")]
    own_id = own[0].endpoint_id if own else None
    for endpoint in own:
        lines.append(f"{endpoint.ipv4}\t{own_hostname}")
    lines.extend(extra)
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


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return []


def write_hosts(layout: Layout, container_id: str, own: list[Endpoint]) -> None:
    """The container's /etc/hosts as Docker writes it with its embedded DNS: localhost, its
    own addresses under its hostname, and `extra_hosts`. Peers resolve through the network's
    resolver, so starting one container never rewrites another's file (that was O(n) files
    per start, O(n^2) per `up`)."""
    directory = layout.container_dir(container_id)
    try:
        hostname = (directory / "hostname").read_text().strip()
    except OSError:
        return
    extra = _read_lines(directory / EXTRA_HOSTS_FILE)
    names = (directory / FQDN_FILE).read_text().strip() if (directory / FQDN_FILE).exists() \
        else hostname
    _rewrite_in_place(directory / "hosts", render_hosts(names, own, [], extra))


# ---- preparing the files at start ----------------------------------------------------------


@dataclass(frozen=True)
class NetFiles:
    """Which files the container mounts, and whose network namespace it joins (if any)."""

    hosts_file: str
    resolv_file: str
    join_netns_pid: int | None = None


def parse_extra_hosts(entries: Sequence[str], gateway: str, subject: str) -> list[str]:
    """``name:addr`` / ``name=addr`` entries as hosts lines; ``host-gateway`` -> ``gateway``."""
    lines = []
    for entry in entries:
        sep = "=" if "=" in entry else ":"
        name, _, address = entry.partition(sep)
        name, address = name.strip(), address.strip().strip("[]")
        if address == HOST_GATEWAY:
            address = gateway
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise InvalidArgumentError(
                f"{subject}: invalid extra_hosts entry {entry!r}: {address!r} is not an IP address",
                subject=subject, hint='use "name:address" or "name=host-gateway"',
            ) from None
        if not name:
            raise InvalidArgumentError(
                f"{subject}: invalid extra_hosts entry {entry!r}: missing host name",
                subject=subject,
            )
        lines.append(f"{address}\t{name}")
    return lines


def render_resolv_conf(
    host_text: str,
    nameservers: Sequence[str],
    search: Sequence[str] = (),
    options: Sequence[str] = (),
) -> str:
    """resolv.conf for a container: our nameservers; search and options from the service, else
    the host's (Docker's rule)."""
    host_search = [line for line in host_text.splitlines() if line.startswith(("search", "domain"))]
    host_options = [line for line in host_text.splitlines() if line.startswith("options")]
    lines = [f"nameserver {ns}" for ns in nameservers]
    lines += [f"search {' '.join(search)}"] if search else host_search
    lines += [f"options {' '.join(options)}"] if options else host_options
    return "\n".join(lines) + "\n"


def _host_nameservers(text: str) -> list[str]:
    """The host's resolvers minus loopback ones (unreachable from a container's netns)."""
    found = []
    for line in text.splitlines():
        words = line.split()
        loopback = len(words) >= 2 and (words[1].startswith("127.") or words[1] == "::1")
        if len(words) >= 2 and words[0] == "nameserver" and not loopback:
            found.append(words[1])
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def prepare_net_files(
    layout: Layout, driver: NetworkDriver, record: ContainerRecord, hostname: str
) -> NetFiles:
    """Write hosts, resolv.conf and the resolver's per-container file for ``record``'s mode."""
    spec = record.spec
    directory = layout.container_dir(record.id)
    hosts, resolv = directory / "hosts", directory / "resolv.conf"
    host_resolv = _read("/etc/resolv.conf")
    mode = spec.network_mode
    _write_unless_empty(directory / DNS_UPSTREAMS_FILE, "".join(f"{x}\n" for x in spec.dns))
    _write_unless_empty(directory / dns_records.LINKS_FILE, dns_records.render_links(spec.links))
    if mode.startswith(("container:", "service:")):
        return _joined(layout, record, mode.split(":", 1)[1])
    if mode == "host":
        extra = parse_extra_hosts(spec.extra_hosts, "127.0.0.1", record.name)
        hosts.write_text(_read("/etc/hosts").rstrip("\n") + "\n" + "".join(f"{x}\n" for x in extra))
        servers = list(spec.dns) or [
            w.split()[1] for w in host_resolv.splitlines() if w.startswith("nameserver ")
        ]
        resolv.write_text(render_resolv_conf(host_resolv, servers, spec.dns_search, spec.dns_opt))
        return NetFiles(str(hosts), str(resolv))
    if mode == "bridge" and spec.networks:
        first = driver.get_network(spec.networks[0].network)
        gateway = first.gateway
        servers = [gateway]  # the embedded resolver, forwarding to `dns` or the host's
    else:  # none
        gateway = "127.0.0.1"
        servers = list(spec.dns) or _host_nameservers(host_resolv)
    extra = parse_extra_hosts(spec.extra_hosts, gateway, record.name)
    _write_unless_empty(directory / EXTRA_HOSTS_FILE, "".join(f"{x}\n" for x in extra))
    hosts.write_text(render_hosts(hostname, [], [], extra))
    resolv.write_text(render_resolv_conf(host_resolv, servers, spec.dns_search, spec.dns_opt))
    return NetFiles(str(hosts), str(resolv))


def _write_unless_empty(path: Path, text: str) -> None:
    """Write ``text``; when empty, make sure no file is there instead of writing one.

    These three files (resolver upstreams, `links` aliases, `extra_hosts`) are empty for most
    containers, and every reader (engine.dns_server, :func:`write_hosts`) treats a missing
    file as an empty one: not creating them saves three file creations per start."""
    if text:
        path.write_text(text)
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _joined(layout: Layout, record: ContainerRecord, target: str) -> NetFiles:
    """network_mode container:NAME — join its netns and share its hosts and resolv.conf."""
    store = ContainerStore(layout)
    other = store.find(target)
    if other is None:
        raise InvalidArgumentError(
            f"container {record.name}: network_mode container:{target}: no such container",
            subject=record.name,
        )
    state = store.load_state(other.id)
    if (
        state.status is not ContainerStatus.RUNNING
        or not state.pid
        or not is_alive(state.pid, state.pid_start)
    ):
        raise InvalidStateError(
            f"cannot join network of container {other.name}: container is not running",
            subject=record.name,
        )
    directory = layout.container_dir(other.id)
    return NetFiles(str(directory / "hosts"), str(directory / "resolv.conf"), state.pid)
