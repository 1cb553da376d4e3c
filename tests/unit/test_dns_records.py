"""The embedded resolver's answers, on real DNS packets built and parsed by dnslib."""

from __future__ import annotations

from dnslib import EDNS0, QTYPE, RCODE, DNSRecord

from engine import dns_records as R
from netdriver.api import Endpoint, Network


def _net(name: str = "p_default", gateway: str = "172.30.0.1", internal: bool = False) -> Network:
    return Network(id="x" * 64, name=name, bridge="pcbrx", subnet="172.30.0.0/16",
                   gateway=gateway, internal=internal)


def _ep(eid: str, ip: str, *names: str) -> Endpoint:
    return Endpoint(network="p_default", endpoint_id=eid, ifname="eth0", host_ifname="pcvx",
                    ipv4=ip, prefixlen=16, gateway="172.30.0.1", mac="02:42:00:00:00:00",
                    names=names, owner_pid=None)


def _ask(zone: R.Zone, name: str, qtype: str = "A") -> DNSRecord | None:
    request = R.parse(DNSRecord.question(name, qtype).pack())
    assert request is not None
    raw = R.answer(zone, request)
    return None if raw is None else DNSRecord.parse(raw)


def test_a_scaled_service_answers_with_every_replica() -> None:
    zone = R.build_zone(_net(), [
        _ep("a", "172.30.0.2", "web", "p-web-1", "aaaaaaaaaaaa"),
        _ep("b", "172.30.0.3", "web", "p-web-2", "bbbbbbbbbbbb"),
        _ep("c", "172.30.0.4", "db", "alias1", "p-db-1", "cccccccccccc"),
    ])
    reply = _ask(zone, "web")
    assert reply is not None and reply.header.rcode == RCODE.NOERROR
    assert sorted(str(rr.rdata) for rr in reply.rr) == ["172.30.0.2", "172.30.0.3"]
    assert [str(rr.rdata) for rr in _ask(zone, "ALIAS1.").rr] == ["172.30.0.4"]  # type: ignore[union-attr]
    assert [str(rr.rdata) for rr in _ask(zone, "p-db-1").rr] == ["172.30.0.4"]  # type: ignore[union-attr]


def test_unknown_names_are_left_for_forwarding_and_aaaa_of_known_is_empty() -> None:
    zone = R.build_zone(_net(), [_ep("a", "172.30.0.2", "web", "p-web-1", "aaaaaaaaaaaa")])
    assert _ask(zone, "example.org") is None
    aaaa = _ask(zone, "web", "AAAA")
    assert aaaa is not None and aaaa.header.rcode == RCODE.NOERROR and not aaaa.rr


def test_reverse_lookup_gives_the_container_name() -> None:
    zone = R.build_zone(_net(), [_ep("a", "172.30.0.2", "web", "p-web-1", "aaaaaaaaaaaa")])
    reply = _ask(zone, "2.0.30.172.in-addr.arpa", "PTR")
    assert reply is not None and reply.rr[0].rtype == QTYPE.PTR
    assert str(reply.rr[0].rdata) == "p-web-1."


def test_a_custom_hostname_resolves_and_the_reverse_is_still_the_container_name() -> None:
    """Docker 25+ keeps a record per DNS name, `hostname:` included; PTR stays the name."""
    from engine.api import _endpoint_names

    names = _endpoint_names(("web", "db.local"), "db.local", "p-web-1", "aaaaaaaaaaaa")
    assert names == ("web", "db.local", "p-web-1", "aaaaaaaaaaaa")
    default = _endpoint_names(("web",), "aaaaaaaaaaaa", "p-web-1", "aaaaaaaaaaaa")
    assert default == ("web", "p-web-1", "aaaaaaaaaaaa")  # the default hostname: the short id
    zone = R.build_zone(_net(), [_ep("a", "172.30.0.2", *_endpoint_names(
        ("web",), "box", "p-web-1", "aaaaaaaaaaaa"))])
    assert [str(rr.rdata) for rr in _ask(zone, "box").rr] == ["172.30.0.2"]  # type: ignore[union-attr]
    reply = _ask(zone, "2.0.30.172.in-addr.arpa", "PTR")
    assert reply is not None and str(reply.rr[0].rdata) == "p-web-1."


def test_every_network_has_a_zone_keyed_by_gateway_even_before_its_first_endpoint() -> None:
    zones = R.build_zones([
        (_net("a", "172.30.0.1"), [_ep("a", "172.30.0.2", "web")]),
        (_net("b", "172.31.0.1"), []),
    ])
    assert sorted(zones) == ["172.30.0.1", "172.31.0.1"]
    assert zones["172.31.0.1"].names == {} and zones["172.30.0.1"].names == {"web": ("172.30.0.2",)}


def test_garbage_and_replies_are_not_queries() -> None:
    assert R.parse(b"\x00\x01garbage") is None
    reply = DNSRecord.question("web").reply().pack()
    assert R.parse(reply) is None


def test_failure_is_servfail() -> None:
    request = DNSRecord.question("x.example")
    assert DNSRecord.parse(R.failure(request)).header.rcode == RCODE.SERVFAIL


def test_host_upstreams_keep_ipv4_nameservers_only() -> None:
    text = "search lan\nnameserver 10.0.0.53\nnameserver ::1\nnameserver 127.0.0.53\n"
    assert R.host_upstreams(text) == ("10.0.0.53", "127.0.0.53")


def test_many_replicas_are_truncated_over_udp_and_whole_over_tcp() -> None:
    eps = [_ep(f"e{i}", f"172.30.{i // 250}.{i % 250 + 2}", "web") for i in range(100)]
    zone = R.build_zone(_net(), eps)
    request = R.parse(DNSRecord.question("web").pack())
    assert request is not None
    whole = R.answer(zone, request)
    assert whole is not None and len(DNSRecord.parse(whole).rr) == 100  # what TCP sends
    short = DNSRecord.parse(R.fit_udp(whole, request))
    assert short.header.tc == 1 and not short.rr
    assert str(short.q.qname) == "web." and short.header.id == request.header.id


def test_edns_payload_size_lets_a_bigger_udp_answer_through() -> None:
    eps = [_ep(f"e{i}", f"172.30.0.{i + 2}", "web") for i in range(40)]
    zone = R.build_zone(_net(), eps)
    question = DNSRecord.question("web")
    question.add_ar(EDNS0(udp_len=1232))
    request = R.parse(question.pack())
    assert request is not None and R.udp_limit(request) == 1232
    whole = R.answer(zone, request)
    assert whole is not None and R.fit_udp(whole, request) == whole  # 40 A records < 1232


def test_small_answers_are_not_truncated() -> None:
    zone = R.build_zone(_net(), [_ep("a", "172.30.0.2", "web")])
    request = R.parse(DNSRecord.question("web").pack())
    assert request is not None
    whole = R.answer(zone, request)
    assert whole is not None and R.fit_udp(whole, request) == whole


def test_links_alias_resolves_only_for_the_asking_container() -> None:
    zone = R.build_zone(_net(), [_ep("c", "172.30.0.4", "db", "p-db-1", "cccccccccccc")])
    request = R.parse(DNSRecord.question("database").pack())
    assert request is not None
    raw = R.answer(zone, request, {"database": "db"})
    assert raw is not None
    reply = DNSRecord.parse(raw)
    assert [(str(rr.rname), str(rr.rdata)) for rr in reply.rr] == [("database.", "172.30.0.4")]
    assert R.answer(zone, request) is None  # another container: not a name here


def _ep6(eid: str, ip: str, ip6: str, *names: str) -> Endpoint:
    return Endpoint(network="p_default", endpoint_id=eid, ifname="eth0", host_ifname="pcvx",
                    ipv4=ip, prefixlen=16, gateway="172.30.0.1", mac="02:42:00:00:00:00",
                    names=names, owner_pid=None, ipv6=ip6)


def test_aaaa_records_and_ipv6_reverse_lookup() -> None:
    zone = R.build_zone(_net(), [
        _ep6("a", "172.30.0.2", "fd00:1::2", "web", "p-web-1", "aaaaaaaaaaaa"),
        _ep6("b", "172.30.0.3", "fd00:1::3", "web", "p-web-2", "bbbbbbbbbbbb"),
    ])
    aaaa = _ask(zone, "web", "AAAA")
    assert aaaa is not None
    assert sorted(str(rr.rdata) for rr in aaaa.rr) == ["fd00:1::2", "fd00:1::3"]
    a = _ask(zone, "web", "A")
    assert a is not None and {rr.rtype for rr in a.rr} == {QTYPE.A}
    ptr_name = ".".join(reversed("fd000001000000000000000000000003")) + ".ip6.arpa"
    ptr = _ask(zone, ptr_name, "PTR")
    assert ptr is not None and str(ptr.rr[0].rdata) == "p-web-2."


def test_a_container_on_two_networks_resolves_names_of_both_and_others_do_not() -> None:
    """Docker's embedded DNS answers from every network the asking container is on, with
    the address on that network; a container on one network sees that network's names."""
    front = R.build_zone(_net("front", "172.30.0.1"), [
        _ep("api", "172.30.0.2", "api", "p-api-1", "aaaaaaaaaaaa"),
        _ep("web", "172.30.0.3", "web", "p-web-1", "bbbbbbbbbbbb"),
    ])
    back = R.build_zone(_net("back", "172.31.0.1"), [
        _ep("api", "172.31.0.2", "api", "p-api-1", "aaaaaaaaaaaa"),
        _ep("db", "172.31.0.3", "db", "p-db-1", "cccccccccccc"),
    ])
    zones = {z.gateway: z for z in (front, back)}
    request = R.parse(DNSRecord.question("db", "A").pack())
    assert request is not None
    raw = R.answer(R.zones_of(zones, "api", front), request)  # api asks on front
    assert raw is not None
    assert [str(rr.rdata) for rr in DNSRecord.parse(raw).rr] == ["172.31.0.3"]
    assert R.answer(R.zones_of(zones, "web", front), request) is None  # web is not on back
    mine = R.parse(DNSRecord.question("api", "A").pack())
    assert mine is not None
    raw = R.answer(R.zones_of(zones, "api", front), mine)  # the arrival network's own first
    assert raw is not None
    assert [str(rr.rdata) for rr in DNSRecord.parse(raw).rr] == ["172.30.0.2"]
