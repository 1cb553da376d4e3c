"""What the embedded resolver answers (pure: no sockets, no files).

One zone per network, keyed by the network's gateway address: a query that arrives on a
gateway is answered from that network's endpoints, then from the other networks the asking
container is on, which is what scopes names per container as Docker's embedded DNS does (a
container on networks A and B asks A's gateway, its first network, and sees the names of A
and of B, each with its address there; a container on A alone sees A's names only). Packets
are parsed and built by dnslib, a small, maintained, pure-Python DNS library: hand-rolled DNS
encoding (name compression, EDNS, truncation) is a classic source of bugs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from netdriver.model import Endpoint, Network

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:  # dnslib (~2 ms) loads in the resolver only: the CLI and supervisors import
    from dnslib import DNSRecord  # this module for LINKS_FILE and render_links

# RFC 1035 response codes (dnslib.RCODE's values), for callers of `failure`.
SERVFAIL = 2
NXDOMAIN = 3

TTL = 5  # short: scaling and restarts change the answers, clients must not cache long
# A plain UDP answer must fit 512 bytes, or the client's EDNS0 payload size. A bigger one (a
# service scaled to ~30+ replicas) goes out truncated (TC bit) and the client asks again
# over TCP, where the resolver sends every record: RFC 1035 4.2.1, RFC 7766.
UDP_PLAIN_LIMIT = 512
LINKS_FILE = "dns-links"  # in the container's directory, written at start (engine.hosts)
MAX_UDP_PAYLOAD = 4096  # what we honour of a client's EDNS0 size (DNS flag day 2020 picks 1232)


@dataclass(frozen=True)
class Zone:
    """Names of one network: lower-case name -> addresses; address -> canonical name."""

    network: str
    gateway: str
    internal: bool
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reverse: dict[str, str] = field(default_factory=dict)
    # name -> IPv6 addresses (AAAA), on networks with an IPv6 subnet
    names6: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # endpoint address -> endpoint (container) id, to find a container's own `dns:` servers
    owners: dict[str, str] = field(default_factory=dict)


def build_zone(network: Network, endpoints: Iterable[Endpoint]) -> Zone:
    names: dict[str, list[str]] = {}
    names6: dict[str, list[str]] = {}
    reverse: dict[str, str] = {}
    owners: dict[str, str] = {}
    for ep in endpoints:
        owners[ep.ipv4] = ep.endpoint_id
        for name in ep.names:
            key = name.lower().rstrip(".")
            if key and ep.ipv4 not in names.setdefault(key, []):
                names[key].append(ep.ipv4)
            if key and ep.ipv6 and ep.ipv6 not in names6.setdefault(key, []):
                names6[key].append(ep.ipv6)
        if ep.names:
            # Docker answers PTR with the container name; ours is the longest-lived name given.
            reverse.setdefault(ep.ipv4, _canonical(ep.names))
            if ep.ipv6:
                reverse.setdefault(str(ipaddress.IPv6Address(ep.ipv6)), _canonical(ep.names))
    return Zone(
        network=network.name, gateway=network.gateway, internal=network.internal,
        names={k: tuple(v) for k, v in names.items()}, reverse=reverse, owners=owners,
        names6={k: tuple(v) for k, v in names6.items() if v},
    )


def _canonical(names: Sequence[str]) -> str:
    """The container name: NetworkRequest names end with (…, container name, short id)
    (engine.api._endpoint_names)."""
    return names[-2] if len(names) >= 2 else names[0]


def build_zones(networks: Iterable[tuple[Network, list[Endpoint]]]) -> dict[str, Zone]:
    """Zones of every network, by gateway address (also those with no endpoint yet: the
    resolver listens from the network's creation, so the first container never waits)."""
    return {net.gateway: build_zone(net, eps) for net, eps in networks}


def _reverse_name(qname: str) -> str | None:
    """``4.0.18.172.in-addr.arpa`` -> ``172.18.0.4`` (and ip6.arpa nibbles); else None."""
    for suffix, count, join in ((".in-addr.arpa", 4, "."), (".ip6.arpa", 32, "")):
        if not qname.endswith(suffix):
            continue
        parts = list(reversed(qname[: -len(suffix)].split(".")))
        if len(parts) != count:
            return None
        if count == 32:
            text = "".join(parts)
            parts = [text[i:i + 4] for i in range(0, 32, 4)]
            join = ":"
        try:
            return str(ipaddress.ip_address(join.join(parts)))
        except ValueError:
            return None
    return None


def parse(data: bytes) -> DNSRecord | None:
    """The request, or None if it is not a DNS query we can read (dropped silently)."""
    from dnslib import DNSRecord

    try:
        request = DNSRecord.parse(data)
    except Exception:  # dnslib raises several kinds on garbage; all mean "not a query"
        return None
    if request.header.qr or not request.questions:
        return None
    return request


def zones_of(zones: Mapping[str, Zone], owner: str | None, first: Zone) -> tuple[Zone, ...]:
    """`first` (where the query arrived), then every other network `owner` is on."""
    if not owner:
        return (first,)
    others = (z for z in zones.values() if z is not first and owner in z.owners.values())
    return (first, *others)


def answer(
    zone: Zone | Sequence[Zone], request: DNSRecord, links: Mapping[str, str] | None = None
) -> bytes | None:
    """The reply for a name the zone knows (the first of several that does: `zones_of`), or
    None: the caller forwards it upstream.

    ``links`` are the asking container's `links` aliases (alias -> service or container
    name): they resolve for that container only, as Docker's embedded DNS does.
    """
    q = request.q
    qname = str(q.qname).lower().rstrip(".")
    key = (links or {}).get(qname, qname)
    target = _reverse_name(qname)
    for one in (zone,) if isinstance(zone, Zone) else zone:
        if key in one.names or (target is not None and target in one.reverse):
            return _answer_from(one, request, key, target)
    return None


def _answer_from(zone: Zone, request: DNSRecord, key: str, target: str | None) -> bytes | None:
    import random  # here, like dnslib: only the resolver answers; the CLI imports this module

    from dnslib import AAAA, PTR, QTYPE, RR, A, DNSLabel

    q = request.q
    addresses = zone.names.get(key)
    if addresses is not None:
        reply = request.reply()
        if q.qtype in (QTYPE.A, QTYPE.ANY):
            shuffled = list(addresses)
            random.shuffle(shuffled)  # DNS round robin over replicas, like Docker
            for ip in shuffled:
                reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
        if q.qtype in (QTYPE.AAAA, QTYPE.ANY):
            shuffled = list(zone.names6.get(key, ()))
            random.shuffle(shuffled)
            for ip in shuffled:
                reply.add_answer(RR(q.qname, QTYPE.AAAA, rdata=AAAA(ip), ttl=TTL))
        # Other types of a known name (AAAA on an IPv4-only network…): NOERROR without
        # answers, so clients do not go looking for the name elsewhere.
        return bytes(reply.pack())
    if target is not None and target in zone.reverse and q.qtype in (QTYPE.PTR, QTYPE.ANY):
        reply = request.reply()
        reply.add_answer(
            RR(q.qname, QTYPE.PTR, rdata=PTR(DNSLabel(zone.reverse[target] + ".")), ttl=TTL)
        )
        return bytes(reply.pack())
    return None


def udp_limit(request: DNSRecord) -> int:
    """Largest UDP reply the client takes: 512, or its EDNS0 payload size (capped)."""
    from dnslib import QTYPE

    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(UDP_PLAIN_LIMIT, min(int(rr.rclass), MAX_UDP_PAYLOAD))
    return UDP_PLAIN_LIMIT


def fit_udp(reply: bytes, request: DNSRecord) -> bytes:
    """``reply`` if it fits the client's UDP limit, else a truncated one (question only, TC
    set) that makes the client retry over TCP."""
    if len(reply) <= udp_limit(request):
        return reply
    from dnslib import DNSHeader, DNSRecord

    header = DNSRecord.parse(reply).header
    short = DNSRecord(
        DNSHeader(id=header.id, bitmap=header.bitmap, tc=1, q=1), q=request.q
    )
    return bytes(short.pack())


def failure(request: DNSRecord, rcode: int = SERVFAIL) -> bytes:
    """An error reply (SERVFAIL when nothing upstream can be asked)."""
    reply = request.reply()
    reply.header.rcode = rcode
    return bytes(reply.pack())


def parse_links(text: str) -> dict[str, str]:
    """A container's links file (``alias target`` per line) as lower-case alias -> target."""
    out = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2:
            out[words[0].lower().rstrip(".")] = words[1].lower().rstrip(".")
    return out


def render_links(links: Iterable[str]) -> str:
    """Compose ``links`` entries (``service[:alias]``) as the links file; plain entries
    need no line (the service name resolves on the network anyway)."""
    lines = []
    for link in links:
        target, _, alias = link.partition(":")
        if alias and alias != target:
            lines.append(f"{alias} {target}")
    return "".join(f"{line}\n" for line in lines)


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
