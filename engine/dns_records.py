"""What the embedded resolver answers (pure: no sockets, no files).

One zone per network, keyed by the network's gateway address: a query that arrives on a
gateway is answered from that network's endpoints only, which is what scopes names per
network (a container on networks A and B asks A's gateway, its first network, and sees the
names of A; B's names it reaches on B's gateway). Packets are parsed and built by dnslib,
a small, maintained, pure-Python DNS library: hand-rolled DNS encoding (name compression,
EDNS, truncation) is a classic source of bugs.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dnslib import PTR, QTYPE, RCODE, RR, A, DNSLabel, DNSRecord

from netdriver.api import Endpoint, Network

TTL = 5  # short: scaling and restarts change the answers, clients must not cache long
# A plain UDP answer must fit 512 bytes (no TCP listener here): 12 header + question + 16 per
# A record leaves room for 28 records with a 64-byte name. More replicas: a random 28 of them.
MAX_A_RECORDS = 28


@dataclass(frozen=True)
class Zone:
    """Names of one network: lower-case name -> addresses; address -> canonical name."""

    network: str
    gateway: str
    internal: bool
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reverse: dict[str, str] = field(default_factory=dict)
    # endpoint address -> endpoint (container) id, to find a container's own `dns:` servers
    owners: dict[str, str] = field(default_factory=dict)


def build_zone(network: Network, endpoints: Iterable[Endpoint]) -> Zone:
    names: dict[str, list[str]] = {}
    reverse: dict[str, str] = {}
    owners: dict[str, str] = {}
    for ep in endpoints:
        owners[ep.ipv4] = ep.endpoint_id
        for name in ep.names:
            key = name.lower().rstrip(".")
            if key and ep.ipv4 not in names.setdefault(key, []):
                names[key].append(ep.ipv4)
        if ep.names:
            # Docker answers PTR with the container name; ours is the longest-lived name given.
            reverse.setdefault(ep.ipv4, _canonical(ep.names))
    return Zone(
        network=network.name, gateway=network.gateway, internal=network.internal,
        names={k: tuple(v) for k, v in names.items()}, reverse=reverse, owners=owners,
    )


def _canonical(names: Sequence[str]) -> str:
    """The container name: NetworkRequest names end with (…, container name, short id)."""
    return names[-2] if len(names) >= 2 else names[0]


def build_zones(networks: Iterable[tuple[Network, list[Endpoint]]]) -> dict[str, Zone]:
    """Zones of the networks that have at least one live endpoint, by gateway address."""
    return {net.gateway: build_zone(net, eps) for net, eps in networks if eps}


def _reverse_name(qname: str) -> str | None:
    """``4.0.18.172.in-addr.arpa`` -> ``172.18.0.4``; None for anything else."""
    suffix = ".in-addr.arpa"
    if not qname.endswith(suffix):
        return None
    parts = qname[: -len(suffix)].split(".")
    if len(parts) != 4:
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(reversed(parts))))
    except ValueError:
        return None


def parse(data: bytes) -> DNSRecord | None:
    """The request, or None if it is not a DNS query we can read (dropped silently)."""
    try:
        request = DNSRecord.parse(data)
    except Exception:  # dnslib raises several kinds on garbage; all mean "not a query"
        return None
    if request.header.qr or not request.questions:
        return None
    return request


def answer(zone: Zone, request: DNSRecord) -> bytes | None:
    """The reply for a name the zone knows, or None: the caller forwards it upstream."""
    q = request.q
    qname = str(q.qname).lower().rstrip(".")
    addresses = zone.names.get(qname)
    if addresses is not None:
        reply = request.reply()
        if q.qtype in (QTYPE.A, QTYPE.ANY):
            shuffled = list(addresses)
            random.shuffle(shuffled)  # DNS round robin over replicas, like Docker
            for ip in shuffled[:MAX_A_RECORDS]:
                reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
        # Other types (AAAA…) of a known name: NOERROR without answers (no IPv6 here), so
        # clients do not go looking for the name elsewhere.
        return bytes(reply.pack())
    target = _reverse_name(qname)
    if target is not None and target in zone.reverse and q.qtype in (QTYPE.PTR, QTYPE.ANY):
        reply = request.reply()
        reply.add_answer(
            RR(q.qname, QTYPE.PTR, rdata=PTR(DNSLabel(zone.reverse[target] + ".")), ttl=TTL)
        )
        return bytes(reply.pack())
    return None


def failure(request: DNSRecord, rcode: int = RCODE.SERVFAIL) -> bytes:
    """An error reply (SERVFAIL when nothing upstream can be asked)."""
    reply = request.reply()
    reply.header.rcode = rcode
    return bytes(reply.pack())


def host_upstreams(resolv_conf: str) -> tuple[str, ...]:
    """IPv4 nameservers of the host's resolv.conf text (the resolver runs in the host netns,
    so loopback resolvers such as systemd-resolved's 127.0.0.53 are fine here)."""
    found = []
    for line in resolv_conf.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                found.append(str(ipaddress.IPv4Address(words[1])))
            except ValueError:
                continue
    return tuple(found)
