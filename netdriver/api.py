"""The driver facade the engine calls: networks (bridges) and endpoints (veth attachments).

Network methods are short transactions under the exclusive state lock. Attaches run side by
side under the shared lock, claiming their address and endpoint id with O_CREAT|O_EXCL
files (:mod:`netdriver.endpoint_store`); removals (detach, prune) take the exclusive lock
for a few unlinks. State files are the truth about what was asked for; liveness of
endpoints is observed (owner pid + start time, host veth present), never assumed from a
file, and checked lazily: when a claim is refused, at `endpoints`, at each ensure of an
existing network and before removing one.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

from netdriver.debug_log import debug
from netdriver.errors import (
    AddressInUseError,
    AddressPoolExhaustedError,
    EndpointExistsError,
    InvalidNetworkConfigError,
    NetlinkError,
    NetworkConflictError,
    NetworkError,
    NetworkInUseError,
    NetworkNotFoundError,
)
from netdriver.model import Endpoint, Network, NetworkOptions
from netdriver.state import (
    NetworkRecord,
    StateStore,
    check_network_name,
    host_subnet_lock,
)

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

# The kernel-facing modules (netlink, firewall, host links) and the endpoint store are
# imported where they are used: a one-off `run` only looks its network up here (~7 ms of
# imports it never used), and the supervisors' fork server loads them in a later stage
# (engine.supervisor_zygote) so a `network_mode: none` container does not wait for them.
if TYPE_CHECKING:
    from typing import Any

    from netdriver.endpoint_store import EndpointStore, Listing
    from netdriver.firewall import PortRule


__all__ = ["Endpoint", "Network", "NetworkDriver", "NetworkOptions", "PortRule"]


def __getattr__(name: str) -> Any:
    """`PortRule` (netdriver.firewall's), loaded on first use like the module it lives in."""
    if name == "PortRule":
        from netdriver.firewall import PortRule

        return PortRule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _debug(message: str, *args: object) -> None:
    debug(__name__, message, *args)


def _bridge_mac(network: Network) -> str:
    from netdriver import ipam

    return ipam.mac_for(IPv4Address(network.gateway))


class NetworkDriver:
    """Linux bridge networks with veth attachments, state under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self._store = StateStore(Path(state_dir))
        self._endpoint_store: EndpointStore | None = None

    @property
    def _eps(self) -> EndpointStore:
        if self._endpoint_store is None:
            from netdriver.endpoint_store import EndpointStore

            self._endpoint_store = EndpointStore(self._store.dir)
        return self._endpoint_store

    # ------------------------------------------------------------------ networks

    def ensure_network(
        self,
        name: str,
        *,
        labels: Mapping[str, str] = {},  # read-only; copied below
        subnet: str | None = None,
        gateway: str | None = None,
        internal: bool = False,
        options: NetworkOptions = NetworkOptions(),
    ) -> Network:
        """Create the network, or verify and return the existing one.

        An existing network has its bridge re-created/brought up if needed (after a reboot
        the files survive but the kernel objects do not). An explicit subnet, gateway or
        internal flag that contradicts the existing network raises NetworkConflictError.
        """
        from netdriver import firewall, host_links, ipam, owners

        check_network_name(name)
        with self._store.locked():
            rec = self._store.load(name)
            if rec is not None:
                self._verify_same(rec.network, subnet, gateway, internal)
                _verify_options(rec.network, options)
                self._prune(rec.network)  # once per `up`: crashed containers' addresses back
                self._setup_bridge(rec.network)
                firewall.ensure_network_rules(rec.network.bridge, rec.network.subnet, internal,
                                               gateway=rec.network.gateway)
                return rec.network
            # Several data roots (and test runs) share one kernel: choosing a free subnet and
            # putting it on a bridge must be atomic host-wide, or two roots pick the same one.
            with host_subnet_lock():
                records = self._store.load_all()
                named = {IPv4Network(r.network.subnet): r.network.name for r in records}
                host = host_links.host_networks() if subnet is None else []
                net, gw = ipam.plan_network(subnet, gateway, list(named), host, named)
                net_id = os.urandom(32).hex()  # secrets would load OpenSSL here
                network = _new_network(
                    net_id, name, net, gw, internal, dict(labels), options, records
                )
                try:  # a half-made bridge (e.g. address refused) must not outlive the failure
                    self._setup_bridge(network)
                    firewall.ensure_network_rules(network.bridge, network.subnet, internal,
                                                   gateway=network.gateway)
                    self._store.save(NetworkRecord(network))
                except BaseException:
                    with contextlib.suppress(NetworkError):
                        firewall.remove_network_rules(network.bridge)
                    host_links.delete_link(network.bridge)
                    owners.release(network.bridge)
                    raise
            _debug("created network %s (%s, bridge %s)", name, net, network.bridge)
            return network

    def find_network(self, name: str) -> Network | None:
        """The network called ``name``, or None."""
        try:
            check_network_name(name)
        except InvalidNetworkConfigError:
            return None
        rec = self._store.load(name)
        return rec.network if rec else None

    def get_network(self, name: str) -> Network:
        """The network called ``name``; NetworkNotFoundError if there is none."""
        net = self.find_network(name)
        if net is None:
            raise NetworkNotFoundError(f"network {name} not found", subject=name)
        return net

    def list_networks(self) -> list[Network]:
        """All networks, sorted by name."""
        return [r.network for r in self._store.load_all()]

    def remove_network(self, name: str) -> None:
        """Delete the bridge and the state; NetworkInUseError while live endpoints remain.

        Only the decision and the record deletion happen under the state lock; the rules and
        the bridge (a kernel wait of ~30 ms) go after it, so removing several networks at once
        overlaps those waits. A crash in between leaves a claimed bridge that no record names:
        an orphan, which the next `up`/`down` sweeps.
        """
        from concurrent.futures import ThreadPoolExecutor

        from netdriver import firewall, owners

        with self._store.locked():
            rec = self._load(name)
            live = self._prune(rec.network)
            if live:
                ids = ", ".join(sorted(e.endpoint_id for e in live))
                raise NetworkInUseError(
                    f"network {name} has active endpoints ({ids})", subject=name,
                    hint="stop or disconnect the containers first",
                )
            self._store.delete(name)
            self._eps.remove_all(rec.network)
        net = rec.network
        bridge = net.bridge
        installed = firewall.network_rules(bridge, net.subnet, net.internal, net.gateway)
        # Two independent waits, overlapped: iptables' commit (~25 ms) and the kernel's
        # unregistering of the bridge (~30 ms of RCU grace periods).
        with ThreadPoolExecutor(max_workers=1) as pool:
            links_gone = pool.submit(_delete_bridge_and_ports, bridge)
            firewall.remove_network_rules(bridge, installed)
            links_gone.result()
        owners.release(bridge)
        _debug("removed network %s", name)

    def sweep_orphans(self) -> list[str]:
        """Remove bridges (with their veths and rules) left by a crash; the names removed.

        A bridge is an orphan when the data root that claimed it (see :mod:`owners`) no
        longer has a network record naming it: a crash between creating the bridge and
        saving the record, or a data root deleted while its networks were up. Bridges of
        any root that still records them, and unclaimed ones, are left alone. Runs under the
        host-wide subnet lock, which every bridge *creation* holds, so a network being
        created right now is never mistaken for an orphan.
        """
        from netdriver import firewall, host_links, owners

        removed: list[str] = []
        with host_subnet_lock():
            recorded: dict[Path, set[str]] = {}
            for bridge in owners.claimed():
                root = owners.owner_of(bridge)
                if root is None:
                    continue
                if root not in recorded:
                    recorded[root] = {r.network.bridge for r in StateStore(root).load_all()}
                if bridge in recorded[root]:
                    continue
                if host_links.link_exists(bridge):
                    for port in host_links.bridge_ports(bridge):
                        host_links.delete_link(port)  # a veth whose container outlived the crash
                    host_links.delete_link(bridge)
                    removed.append(bridge)
                    _debug("swept orphan bridge %s (owner %s)", bridge, root)
                # Also without a bridge: `remove_network` killed between deleting the bridge
                # and committing the rules' removal leaves the rules behind.
                firewall.remove_network_rules(bridge)
                owners.release(bridge)
        with self._store.locked():  # endpoint files of networks whose record is gone
            self._eps.remove_unowned(self.list_networks())
        return removed

    # ------------------------------------------------------------------ endpoints

    def attach(
        self,
        network: str,
        endpoint_id: str,
        netns_path: str,
        *,
        ifname: str = "eth0",
        names: Sequence[str] = (),
        ipv4: str | None = None,
        owner_pid: int | None = None,
        default_route: bool = True,
        ipv6: str | None = None,
        mac: str | None = None,
    ) -> Endpoint:
        """Connect the network namespace at ``netns_path`` to ``network``.

        No default route is added on internal networks (nothing beyond the bridge is
        reachable). ``ipv6`` (a static address) needs a network with an IPv6 subnet; there
        every endpoint gets an IPv6 address too. On failure nothing is left behind: the veth
        is deleted and the address is not recorded.
        """
        from netdriver import ipam
        from netdriver.liveness import process_start_time

        if not _valid_endpoint_id(endpoint_id):
            raise InvalidNetworkConfigError(f"invalid endpoint id {endpoint_id!r}")
        if not _names_ok(ifname):
            raise InvalidNetworkConfigError(f"invalid interface name {ifname!r}", subject=ifname)
        if mac is not None and not ipam.unicast_mac(mac):
            raise InvalidNetworkConfigError(
                f"{mac!r} is not a valid unicast MAC address", subject=mac
            )
        owner_start = None
        if owner_pid is not None:
            owner_start = process_start_time(owner_pid)
            if owner_start is None:
                raise InvalidNetworkConfigError(
                    f"owner process {owner_pid} is not running", subject=str(owner_pid)
                )
        for attempt in range(2):
            try:
                return self._attach_once(
                    network, endpoint_id, netns_path, ifname=ifname, names=names, ipv4=ipv4,
                    owner_pid=owner_pid, owner_start=owner_start, default_route=default_route,
                    ipv6=ipv6, mac=mac,
                )
            except (EndpointExistsError, AddressInUseError, AddressPoolExhaustedError):
                if attempt:
                    raise
            # Liveness pruning is lazy: only when the claims say no (an address, the endpoint
            # id) may a dead endpoint be in the way. Prune, then try once more.
            with self._store.locked():
                self._prune(self._load(network).network)
        raise AssertionError("unreachable")

    def _attach_once(
        self,
        network: str,
        endpoint_id: str,
        netns_path: str,
        *,
        ifname: str,
        names: Sequence[str],
        ipv4: str | None,
        owner_pid: int | None,
        owner_start: int | None,
        default_route: bool,
        ipv6: str | None,
        mac: str | None = None,
    ) -> Endpoint:
        """One try, under the *shared* state lock: other attaches run at the same time (the
        veth work, ~ms of kernel time each, overlaps), and O_EXCL claims keep addresses and
        endpoint ids unique. Undoes its own claims on failure."""
        from netdriver import firewall, host_links, ipam, netlink
        from netdriver.endpoint_store import StoredEndpoint

        net = self._load(network).network
        if not host_links.bridge_ready(net.bridge, IPv4Address(net.gateway)):
            with self._store.locked():  # rare (reboot, crash): set up once, exclusively
                net = self._load(network).network
                if not host_links.bridge_ready(net.bridge, IPv4Address(net.gateway)):
                    # Bridge gone: its rules went with the kernel state too.
                    self._setup_bridge(net)
                    firewall.ensure_network_rules(net.bridge, net.subnet, net.internal,
                                                   gateway=net.gateway)
        with self._store.shared():
            net = self._load(network).network  # removed or re-created meanwhile?
            host_ifname = _host_name(net, endpoint_id)
            if not self._eps.claim_endpoint(net, host_ifname):
                raise EndpointExistsError(
                    f"endpoint {endpoint_id} is already attached to network {network}",
                    subject=endpoint_id,
                )
            claimed: list[tuple[str, bool]] = []
            try:
                listing = self._eps.listing()
                addr = self._claim4(net, listing, ipv4)
                claimed.append((str(addr), False))
                addr6 = self._claim6(net, listing, ipv6)
                if addr6 is not None:
                    claimed.append((str(addr6), True))
                subnet = IPv4Network(net.subnet)
                gateway = IPv4Address(net.gateway)
                host_links.delete_link(host_ifname)  # leftover of a crash mid-attach, if any
                routed = default_route and not net.internal
                peer = netlink.PeerConfig(
                    ifname=ifname, address=addr, prefixlen=subnet.prefixlen,
                    mac=(mac or ipam.mac_for(addr)).lower().replace("-", ":"),
                    gateway=gateway if routed else None, mtu=net.mtu,
                    address6=addr6,
                    prefixlen6=IPv6Network(net.subnet6).prefixlen if net.subnet6 else 0,
                    gateway6=IPv6Address(net.gateway6) if routed and net.gateway6 else None,
                )
                netlink.create_attachment(host_ifname, net.bridge, netns_path, peer)
                endpoint = Endpoint(
                    network=net.name, endpoint_id=endpoint_id, ifname=ifname,
                    host_ifname=host_ifname, ipv4=str(addr), prefixlen=subnet.prefixlen,
                    gateway=str(gateway), mac=peer.mac, names=tuple(names), owner_pid=owner_pid,
                    ipv6=str(addr6) if addr6 is not None else None,
                )
                try:
                    self._eps.complete(net, endpoint, owner_start)
                except BaseException:
                    host_links.delete_link(host_ifname)
                    raise
            except BaseException:
                # Ours alone to undo: attaches only create files, removals wait for us.
                for text, v6 in claimed:
                    self._eps.release_address(net, text, v6=v6)
                self._eps.remove(net, StoredEndpoint(host_ifname, None, None))
                raise
            _debug("attached %s to %s as %s/%s", endpoint_id, network, addr, subnet.prefixlen)
            return endpoint

    def _claim4(self, net: Network, listing: Listing, requested: str | None) -> IPv4Address:
        """Claim the requested address, or the lowest free one (retrying past lost races)."""
        from netdriver import ipam

        taken: set[IPv4Address | int] = set()
        for text in self._eps.taken(net, listing):
            with contextlib.suppress(OSError):  # ints: see ipam.allocate_address
                taken.add(int.from_bytes(socket.inet_aton(text), "big"))
        subnet = IPv4Network(net.subnet)
        ip_range = IPv4Network(net.ip_range) if net.ip_range else None
        reserved = [IPv4Address(a) for a in net.aux_addresses.values()]
        while True:  # bounded: every lost race adds an address to `taken`
            addr = ipam.allocate_address(
                subnet, IPv4Address(net.gateway), taken, requested,
                ip_range=ip_range, reserved=reserved,
            )
            if self._eps.claim_address(net, str(addr)):
                return addr
            if requested is not None:
                raise AddressInUseError(f"address {addr} is in use", subject=str(addr))
            taken.add(addr)

    def _claim6(self, net: Network, listing: Listing, requested: str | None) -> IPv6Address | None:
        """Like :meth:`_claim4` for the IPv6 side (None on an IPv4-only network)."""
        from netdriver import ipam

        if net.subnet6 is None or net.gateway6 is None:
            if requested is not None:
                raise InvalidNetworkConfigError(
                    f"ipv6_address {requested} on network {net.name}, which has no IPv6 subnet",
                    subject=requested, hint="set enable_ipv6 and an IPv6 subnet in ipam.config",
                )
            return None
        taken = set()
        for text in self._eps.taken(net, listing, v6=True):
            with contextlib.suppress(ValueError):
                taken.add(IPv6Address(text))
        while True:  # bounded as in _claim4
            addr = ipam.allocate_address6(
                IPv6Network(net.subnet6), IPv6Address(net.gateway6), taken, requested
            )
            if self._eps.claim_address(net, str(addr), v6=True):
                return addr
            if requested is not None:
                raise AddressInUseError(f"IPv6 address {addr} is in use", subject=str(addr))
            taken.add(addr)

    def detach(self, network: str, endpoint_id: str) -> None:
        """Remove an endpoint: delete its host veth (if any) and release its address.

        Idempotent: an unknown network or endpoint is not an error, but a veth left by a
        crash mid-attach is still found by its deterministic name and deleted.

        The veth goes first and outside the state lock: deleting a link waits on the kernel
        (~20 ms of RCU grace periods), and under the lock those waits would queue every other
        container's attach and detach behind it. When the container's namespace has died,
        the kernel deletes the pair in its namespace clean-up (batched); we find it gone,
        get ENODEV, or delete it first, and either way it no longer holds anyone up.
        Address release comes after, so an address is never handed out while a veth still
        carries it; a crash in between leaves an endpoint file whose veth is gone, which the
        next prune removes. The exclusive lock is held only to unlink the endpoint's files
        (no read of other endpoints, no write, no fsync): removals must not race each other
        (two removers of one endpoint could otherwise free an address someone re-claimed).
        """
        from netdriver import host_links

        try:
            net = self._load(network).network  # lock-free read: files are replaced atomically
        except NetworkNotFoundError:
            return
        host_ifname = _host_name(net, endpoint_id)
        stored = self._eps.read(net, host_ifname)
        host_links.delete_link(host_ifname)
        if stored is None:
            return
        with self._store.locked():
            current = self._eps.read(net, host_ifname)
            if current is not None:
                self._eps.remove(net, current)
                _debug("detached %s from %s", endpoint_id, network)

    def find_endpoint(self, network: str, endpoint_id: str) -> Endpoint | None:
        """The endpoint ``endpoint_id`` has on ``network``, read without the lock and without
        a liveness check (an inspect's look); None if there is none or the network is gone."""
        net = self.find_network(network)
        if net is None:
            return None
        stored = self._eps.read(net, _host_name(net, endpoint_id))
        return stored.endpoint if stored is not None else None

    def endpoints(self, network: str) -> list[Endpoint]:
        """Live endpoints of ``network``; dead ones are pruned (veth deleted, address freed)."""
        with self._store.locked():
            return self._prune(self._load(network).network)

    def peek(self) -> list[tuple[Network, list[Endpoint]]]:
        """Every network with its live endpoints, read without the lock and without pruning.

        For readers that poll often (the DNS resolver): files are replaced atomically, so a
        lock-free read sees a whole old or whole new record; liveness is the caller's call.
        """
        from netdriver import snapshot

        return snapshot.live_networks(self._store.root)

    # ------------------------------------------------------------------ ports and modes

    def publish_ports(self, owner: str, rules: Sequence[PortRule]) -> None:
        """DNAT host ports to a container address; ``owner`` tags the rules for removal."""
        from netdriver import firewall

        try:
            firewall.add_port_rules(owner, rules)
        except BaseException:
            with contextlib.suppress(NetworkError):
                firewall.remove_port_rules(owner)
            raise

    def unpublish_ports(self, owner: str) -> None:
        """Remove the DNAT rules of ``owner`` (idempotent)."""
        from netdriver import firewall

        firewall.remove_port_rules(owner)

    def port_owners(self, prefix: str = "") -> set[str]:
        """Owners with DNAT rules installed (for crash repair)."""
        from netdriver import firewall

        return firewall.port_owners(prefix)

    @staticmethod
    def loopback_up(netns_path: str) -> None:
        """Bring ``lo`` up in a namespace that gets no attachment (``network_mode: none``)."""
        from netdriver import netlink

        netlink.loopback_up(netns_path)

    # ------------------------------------------------------------------ helpers

    def _load(self, name: str) -> NetworkRecord:
        check_network_name(name)
        rec = self._store.load(name)
        if rec is None:
            raise NetworkNotFoundError(f"network {name} not found", subject=name)
        return rec

    def _setup_bridge(self, network: Network) -> None:
        from netdriver import host_links, owners

        owners.claim(network.bridge, self._store.root)  # before the bridge: a crash is sweepable
        prefixlen = IPv4Network(network.subnet).prefixlen
        v6 = None
        if network.subnet6 and network.gateway6:
            v6 = (IPv6Address(network.gateway6), IPv6Network(network.subnet6).prefixlen)
        host_links.ensure_bridge(
            network.bridge, IPv4Address(network.gateway), prefixlen, _bridge_mac(network),
            mtu=network.mtu, gateway6=v6,
        )

    def _prune(self, net: Network) -> list[Endpoint]:
        """Remove endpoints whose owner died or whose host veth is gone, and address claims
        no endpoint holds; the live endpoints, by address.

        Caller holds the exclusive state lock, so no attach is half-way: an empty endpoint
        file or an unheld claim is the leftover of a crash.
        """
        from netdriver import host_links
        from netdriver.liveness import is_alive

        stored = self._eps.endpoints(net)
        links = host_links.existing_links(s.host_ifname for s in stored)
        live: list[Endpoint] = []
        for s in stored:
            ep = s.endpoint
            owner_gone = (
                ep is not None and ep.owner_pid is not None
                and not is_alive(ep.owner_pid, s.owner_start)
            )
            if ep is not None and not owner_gone and s.host_ifname in links:
                live.append(ep)
                continue
            if s.host_ifname in links:
                try:
                    host_links.delete_link(s.host_ifname)
                except NetlinkError as exc:  # keep pruning; the veth is ours to retry
                    _debug("could not delete %s: %s", s.host_ifname, exc)
            self._eps.remove(net, s)
            _debug("pruned dead endpoint %s of %s", s.host_ifname, net.name)
        self._eps.remove_orphan_claims(net, live)
        return sorted(live, key=lambda e: IPv4Address(e.ipv4))

    @staticmethod
    def _verify_same(
        net: Network, subnet: str | None, gateway: str | None, internal: bool
    ) -> None:
        from netdriver import ipam

        problems = []
        if subnet is not None and ipam.parse_subnet(subnet) != IPv4Network(net.subnet):
            problems.append(f"subnet {net.subnet} (asked {subnet})")
        if gateway is not None and ipam.parse_address(gateway) != IPv4Address(net.gateway):
            problems.append(f"gateway {net.gateway} (asked {gateway})")
        if internal != net.internal:
            problems.append(f"internal={net.internal} (asked internal={internal})")
        if problems:
            raise NetworkConflictError(
                f"network {net.name} exists with a different configuration: "
                + ", ".join(problems),
                subject=net.name, hint="remove the network to re-create it",
            )


def _delete_bridge_and_ports(bridge: str) -> None:
    from netdriver import host_links

    for port in host_links.bridge_ports(bridge):  # a veth whose release crashed half-way
        host_links.delete_link(port)
    host_links.delete_link(bridge)


def _host_name(net: Network, endpoint_id: str) -> str:
    from netdriver import names

    return names.host_veth_name(net.id, endpoint_id)


def _names_ok(ifname: str) -> bool:
    from netdriver import names

    return names.is_valid_ifname(ifname)


def _valid_endpoint_id(endpoint_id: str) -> bool:
    return bool(endpoint_id) and len(endpoint_id) <= 256 and endpoint_id.isprintable()



def _new_network(
    net_id: str,
    name: str,
    subnet: IPv4Network,
    gateway: IPv4Address,
    internal: bool,
    labels: dict[str, str],
    options: NetworkOptions,
    records: Sequence[NetworkRecord],
) -> Network:
    """Check the options of a new network against its subnet and the other networks."""
    from netdriver import host_links, ipam, names

    ip_range = ipam.parse_ip_range(options.ip_range, subnet)
    aux = ipam.parse_aux_addresses(options.aux_addresses, subnet, gateway)
    if options.mtu is not None and not MIN_MTU <= options.mtu <= MAX_MTU:
        raise InvalidNetworkConfigError(
            f"invalid mtu {options.mtu}: it must be between {MIN_MTU} and {MAX_MTU}",
            subject=str(options.mtu),
        )
    subnet6 = gateway6 = None
    if options.ipv6_subnet is not None:
        used6 = [IPv6Network(r.network.subnet6) for r in records if r.network.subnet6]
        net6, gw6 = ipam.plan_network6(options.ipv6_subnet, options.ipv6_gateway, used6)
        subnet6, gateway6 = str(net6), str(gw6)
    elif options.enable_ipv6:
        raise InvalidNetworkConfigError(
            f"network {name}: enable_ipv6 needs an IPv6 subnet in ipam.config",
            subject=name, hint="there is no default IPv6 address pool; add e.g. fd00:1::/64",
        )
    elif options.ipv6_gateway is not None:
        raise InvalidNetworkConfigError(
            "an IPv6 gateway needs an IPv6 subnet", subject=options.ipv6_gateway,
        )
    bridge = names.bridge_name(net_id)
    if options.bridge_name is not None:
        bridge = options.bridge_name
        if not names.is_valid_ifname(bridge):
            raise InvalidNetworkConfigError(
                f"invalid bridge name {bridge!r}", subject=bridge,
                hint="at most 15 letters, digits, '_', '.', '-'",
            )
        taken = any(r.network.bridge == bridge for r in records) or host_links.link_exists(bridge)
        if taken:
            raise NetworkConflictError(
                f"bridge name {bridge} is already in use by another network or interface",
                subject=bridge,
            )
    return Network(
        id=net_id, name=name, bridge=bridge, subnet=str(subnet), gateway=str(gateway),
        internal=internal, labels=labels,
        ip_range=str(ip_range) if ip_range is not None else None,
        aux_addresses={k: str(v) for k, v in aux.items()}, mtu=options.mtu,
        attachable=options.attachable, subnet6=subnet6, gateway6=gateway6,
    )


MIN_MTU = 68  # IPv4's minimum; the kernel refuses less
MAX_MTU = 65535


def _verify_options(net: Network, options: NetworkOptions) -> None:
    """An existing network must not contradict explicit options (like _verify_same)."""
    from netdriver import ipam

    problems = []
    if options.ip_range is not None and options.ip_range != net.ip_range:
        problems.append(f"ip_range {net.ip_range} (asked {options.ip_range})")
    if options.mtu is not None and options.mtu != net.mtu:
        problems.append(f"mtu {net.mtu} (asked {options.mtu})")
    if options.ipv6_subnet is not None and (
        net.subnet6 is None or ipam.parse_subnet6(options.ipv6_subnet) != IPv6Network(net.subnet6)
    ):
        problems.append(f"IPv6 subnet {net.subnet6} (asked {options.ipv6_subnet})")
    if options.bridge_name is not None and options.bridge_name != net.bridge:
        problems.append(f"bridge {net.bridge} (asked {options.bridge_name})")
    if problems:
        raise NetworkConflictError(
            f"network {net.name} exists with a different configuration: " + ", ".join(problems),
            subject=net.name, hint="remove the network to re-create it",
        )
