"""Networking on the real kernel: embedded DNS, isolation, multi-network, internal networks,
static addresses, published ports, and the host / none / container: network modes.

Traffic only goes to loopback and to containers on bridges these tests create.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
from dnslib import DNSRecord

from engine.api import (
    ContainerInfo,
    ContainerSpec,
    Engine,
    NetworkAttachment,
    NetworkOptions,
    PortSpec,
)
from engine.dns_control import control_address, resolver_running
from engine.errors import ContainerStartError
from netdriver import firewall
from tests.integration.runtime_helpers import wait_http

HTTPD = ("httpd", "-f", "-p", "80", "-h", "/etc")  # serves /etc/hostname


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def server(
    engine: Engine, name: str, *attachments: NetworkAttachment, **extra: object
) -> ContainerInfo:
    info = engine.create_container(
        ContainerSpec(
            name=name, image="busybox", command=HTTPD, networks=attachments,
            **extra,  # type: ignore[arg-type]
        )
    )
    return engine.start_container(info.id)


def run(engine: Engine, name: str, script: str, *attachments: NetworkAttachment,
        **extra: object) -> tuple[int, str]:
    """Run a one-shot busybox shell script; (exit code, output)."""
    info = engine.create_container(
        ContainerSpec(name=name, image="busybox", command=("sh", "-c", script),
                      networks=attachments, **extra)  # type: ignore[arg-type]
    )
    engine.start_container(info.id)
    code = engine.wait_container(info.id, timeout=60)
    out = "".join(line.text for line in engine.logs(info.id))
    assert code is not None, f"{name} did not finish: {out}"
    return code, out


def _addresses(output: str, name: str) -> set[str]:
    """Addresses busybox nslookup printed for ``name`` (skips the server's own lines)."""
    found, current = set(), None
    for line in output.splitlines():
        if line.startswith("Server:"):
            current = None
        elif line.startswith("Name:"):
            current = line.split()[1]
        elif line.startswith("Address:") and current == name:
            found.add(line.split()[1])
    return found


def test_dns_answers_services_aliases_replicas_and_container_names(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    web1 = server(e, f"p-web-1-{_uid()}", NetworkAttachment(net, ("web", "frontend")))
    web2 = server(e, f"p-web-2-{_uid()}", NetworkAttachment(net, ("web",)))
    code, out = run(
        e, f"cli-{_uid()}",
        f"nslookup web; nslookup frontend; nslookup {web2.name}; cat /etc/resolv.conf; "
        "wget -q -O - http://frontend/hostname",
        NetworkAttachment(net, ("cli",)),
    )
    assert code == 0, out
    ip1, ip2 = web1.state.addresses[net], web2.state.addresses[net]
    assert _addresses(out, "web") == {ip1, ip2}  # every replica
    assert _addresses(out, "frontend") == {ip1}
    assert _addresses(out, web2.name) == {ip2}
    gateway = e.networks.get_network(net).gateway
    assert f"nameserver {gateway}" in out
    assert web1.id[:12] in out  # the HTTP answer came from web1 by its alias


def test_dns_is_updated_when_a_replica_goes_away(engine_with_busybox: Engine, net: str) -> None:
    e = engine_with_busybox
    web1 = server(e, f"a-{_uid()}", NetworkAttachment(net, ("web",)))
    web2 = server(e, f"b-{_uid()}", NetworkAttachment(net, ("web",)))
    e.stop_container(web2.id, timeout=0)
    code, out = run(e, f"cli-{_uid()}", "nslookup web", NetworkAttachment(net, ()))
    assert code == 0, out
    assert _addresses(out, "web") == {web1.state.addresses[net]}


def test_two_networks_are_isolated_and_names_are_scoped(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    front, back = f"t5f_{_uid()}", f"t5b_{_uid()}"
    e.ensure_network(front, labels={})
    e.ensure_network(back, labels={})
    db = server(e, f"db-{_uid()}", NetworkAttachment(back, ("db",)))
    db_ip = db.state.addresses[back]
    code, out = run(
        e, f"cli-{_uid()}",
        f"nslookup db && echo RESOLVED; ping -c 1 -W 1 {db_ip} && echo REACHED; "
        f"timeout 3 wget -q -O - http://{db_ip}/hostname && echo FETCHED; true",
        NetworkAttachment(front, ()),
    )
    assert code == 0
    assert "RESOLVED" not in out and "REACHED" not in out and "FETCHED" not in out, out


def test_a_container_on_two_networks_reaches_both(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    front, back = f"t5f_{_uid()}", f"t5b_{_uid()}"
    e.ensure_network(front, labels={})
    e.ensure_network(back, labels={})
    a = server(e, f"a-{_uid()}", NetworkAttachment(front, ("alpha",)))
    b = server(e, f"b-{_uid()}", NetworkAttachment(back, ("beta",)))
    code, out = run(
        e, f"cli-{_uid()}",
        "wget -q -O - http://alpha/hostname; "
        f"wget -q -O - http://{b.state.addresses[back]}/hostname; ip -o -4 addr show",
        NetworkAttachment(front, ()), NetworkAttachment(back, ()),
    )
    assert code == 0, out
    assert a.id[:12] in out and b.id[:12] in out
    assert re.search(r"eth0\s+inet", out) and re.search(r"eth1\s+inet", out)


def test_internal_network_has_no_default_route(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    name = f"t5i_{_uid()}"
    e.ensure_network(name, labels={}, internal=True)
    code, out = run(e, f"cli-{_uid()}", "ip route; echo END", NetworkAttachment(name, ()))
    assert code == 0
    assert "default" not in out and "END" in out
    assert name  # the subnet route is there, nothing else
    assert e.networks.get_network(name).subnet.split("/")[0] in out


def test_an_internal_first_network_leaves_the_default_route_to_the_next(
    engine_with_busybox: Engine,
) -> None:
    """Docker routes through the first network that has a gateway to give: a container whose
    eth0 is on an internal network still reaches out through its other network (it had no
    default route at all)."""
    e = engine_with_busybox
    inside, outside = f"t5i_{_uid()}", f"t5o_{_uid()}"
    e.ensure_network(inside, labels={}, internal=True)
    e.ensure_network(outside, labels={})
    code, out = run(e, f"cli-{_uid()}", "ip route; echo END",
                    NetworkAttachment(inside, ()), NetworkAttachment(outside, ()))
    assert code == 0 and "END" in out, out
    gateway = e.networks.get_network(outside).gateway
    assert re.search(rf"default via {re.escape(gateway)} dev eth1", out), out
    assert out.count("default") == 1, out


def test_the_default_route_is_docker_s_pick_not_eth0(engine_with_busybox: Engine) -> None:
    """Docker routes through the network whose name sorts first, unless a `gw_priority` says
    otherwise; eth0 stays the first network asked for."""
    e = engine_with_busybox
    uid = _uid()
    first, second = f"t5a_{uid}", f"t5b_{uid}"
    e.ensure_network(first, labels={})
    e.ensure_network(second, labels={})
    gateways = {n: e.networks.get_network(n).gateway for n in (first, second)}
    code, out = run(e, f"cli-{_uid()}", "ip route",
                    NetworkAttachment(second, ()), NetworkAttachment(first, ()))
    assert code == 0, out
    assert re.search(rf"default via {re.escape(gateways[first])} dev eth1", out), out
    code, out = run(e, f"cli-{_uid()}", "ip route",
                    NetworkAttachment(first, ()), NetworkAttachment(second, (), gw_priority=1))
    assert code == 0, out
    assert re.search(rf"default via {re.escape(gateways[second])} dev eth1", out), out
    assert out.count("default") == 1, out


def test_static_address_is_honoured(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    name = f"t5s_{_uid()}"
    e.ensure_network(name, labels={}, subnet="10.251.37.0/24")
    code, out = run(e, f"cli-{_uid()}", "ip -o -4 addr show eth0",
                    NetworkAttachment(name, (), "10.251.37.77"))
    assert code == 0 and "10.251.37.77/24" in out, out


def test_published_port_answers_on_loopback_and_is_removed_with_the_container(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    web = server(e, f"web-{_uid()}", NetworkAttachment(net, ("web",)), ports=(PortSpec(80),))
    [published] = web.state.ports
    assert published.target == 80 and published.host_port > 0
    body = wait_http(f"http://127.0.0.1:{published.host_port}/hostname")
    assert body.decode().strip() == web.id[:12]
    # container to container through the host port (the gateway is a host address)
    gateway = e.networks.get_network(net).gateway
    code, out = run(
        e, f"cli-{_uid()}", f"wget -q -O - http://{gateway}:{published.host_port}/hostname",
        NetworkAttachment(net, ()),
    )
    assert code == 0 and web.id[:12] in out, out
    assert web.id in firewall.port_owners()
    e.stop_container(web.id, timeout=0)
    assert web.id not in firewall.port_owners()
    assert e.inspect(web.id).state.ports == ()


def test_taken_host_port_fails_clearly_and_leaves_nothing(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    taken = holder.getsockname()[1]
    try:
        info = e.create_container(ContainerSpec(
            name=f"web-{_uid()}", image="busybox", command=HTTPD,
            labels={"com.docker.compose.service": "web"},
            networks=(NetworkAttachment(net, ()),), ports=(PortSpec(80, str(taken)),),
        ))
        with pytest.raises(ContainerStartError, match=rf"service web.*{taken}.*already allocated"):
            e.start_container(info.id)
    finally:
        holder.close()
    assert info.id not in firewall.port_owners()
    assert e.networks.endpoints(net) == []


def test_container_mode_shares_the_other_containers_interfaces(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    web = server(e, f"web-{_uid()}", NetworkAttachment(net, ("web",)))
    ip = web.state.addresses[net]
    code, out = run(e, f"side-{_uid()}",
                    "ip -o -4 addr show eth0; wget -q -O - http://127.0.0.1/hostname",
                    network_mode=f"container:{web.name}")
    assert code == 0, out
    assert f"{ip}/" in out and web.id[:12] in out


def test_host_mode_sees_the_host_interfaces(engine_with_busybox: Engine) -> None:
    host_links = {n for _, n in socket.if_nameindex()}
    code, out = run(engine_with_busybox, f"h-{_uid()}", "ls /sys/class/net", network_mode="host")
    assert code == 0, out
    seen = set(out.split())
    assert "lo" in seen and len(seen & host_links) >= 2, (seen, host_links)


def test_host_mode_takes_the_hosts_name(engine_with_busybox: Engine) -> None:
    """Docker: a container on the host's network is named as the host, in all three places
    a program looks (not its short id)."""
    code, out = run(engine_with_busybox, f"hn-{_uid()}",
                    'hostname; cat /etc/hostname; echo "$HOSTNAME"', network_mode="host")
    assert code == 0, out
    assert out.split() == [socket.gethostname()] * 3


def test_none_mode_has_only_loopback_and_it_is_up(engine_with_busybox: Engine) -> None:
    code, out = run(
        engine_with_busybox, f"n-{_uid()}", "ls /sys/class/net; ping -c 1 -W 1 127.0.0.1",
        network_mode="none",
    )
    assert code == 0, out
    assert out.split()[0] == "lo" and "1 packets received" in out


def test_extra_hosts_dns_search_and_options(engine_with_busybox: Engine, net: str) -> None:
    code, out = run(
        engine_with_busybox, f"x-{_uid()}", "cat /etc/hosts /etc/resolv.conf",
        NetworkAttachment(net, ()),
        extra_hosts=("db.local:10.1.2.3", "gw=host-gateway"), dns_search=("corp.example",),
        dns_opt=("ndots:2",),
    )
    gateway = engine_with_busybox.networks.get_network(net).gateway
    assert code == 0
    assert "10.1.2.3\tdb.local" in out and f"{gateway}\tgw" in out
    assert "search corp.example" in out and "options ndots:2" in out


def _wait_resolver(engine: Engine, running: bool) -> bool:
    for _ in range(50):  # bounded: the start takes ~0.1 s, the nudge makes it leave at once
        if resolver_running(engine.layout.root) == running:
            return True
        time.sleep(0.1)
    return False


def test_resolver_starts_with_the_network_and_leaves_with_the_last_one(
    engine_with_busybox: Engine
) -> None:
    e = engine_with_busybox
    assert not resolver_running(e.layout.root)
    first, second = f"t5r_{_uid()}", f"t5r_{_uid()}"
    gateway = e.ensure_network(first, labels={}).gateway
    assert _wait_resolver(e, running=True)  # before any container asks for it
    probe = DNSRecord.question("nothing-here.")
    reply = DNSRecord.parse(probe.send(gateway, 53, timeout=5))
    assert reply.header.rcode == 3  # NXDOMAIN from our resolver, on a network still empty
    e.ensure_network(second, labels={})
    web = server(e, f"web-{_uid()}", NetworkAttachment(first, ("web",)))
    e.stop_container(web.id, timeout=0)
    e.remove_container(web.id)
    e.remove_network(first)
    assert resolver_running(e.layout.root)  # the other network still needs it
    e.remove_network(second)
    assert _wait_resolver(e, running=False)
    # The resolver may be a fork of the fork server (no telling command line): what must be
    # gone is whatever holds the data root's control socket.
    bound = "@" + control_address(e.layout.root)[1:]
    sockets = [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    assert not [words for words in sockets if len(words) >= 8 and words[7] == bound]


def test_network_rules_follow_the_network(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    outside, inside = f"t5o_{_uid()}", f"t5i_{_uid()}"
    out_net = e.ensure_network(outside, labels={})
    in_net = e.ensure_network(inside, labels={}, internal=True)
    rules = "\n".join(firewall.all_tagged_rules())
    assert f"-s {out_net.subnet} ! -o {out_net.bridge}" in rules  # masquerade outbound
    assert f"-i {in_net.bridge} ! -o {in_net.bridge}" in rules and "MASQUERADE" not in [
        line.split()[-1] for line in rules.splitlines() if in_net.bridge in line
    ]
    e.remove_network(outside)
    e.remove_network(inside)
    rules = "\n".join(firewall.all_tagged_rules())
    assert out_net.bridge not in rules and in_net.bridge not in rules


def test_a_killed_supervisor_is_repaired_on_next_look(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    web = server(e, f"web-{_uid()}", NetworkAttachment(net, ("web",)), ports=(PortSpec(80),))
    [published] = web.state.ports
    assert web.state.supervisor_pid
    os.kill(web.state.supervisor_pid, signal.SIGKILL)
    for _ in range(100):  # bounded: the supervisor is gone within a moment
        if not os.path.exists(f"/proc/{web.state.supervisor_pid}"):
            break
        time.sleep(0.05)
    assert e.inspect(web.id).status.value == "exited"  # observing repairs
    assert web.id not in firewall.port_owners()
    assert e.networks.endpoints(net) == []
    probe = socket.socket()
    probe.bind(("0.0.0.0", published.host_port))  # the host port is free again
    probe.close()
    e.remove_network(net)  # nothing in use any more: the network goes, and the resolver too
    assert _wait_resolver(e, running=False)  # nothing left holding the gateway's port 53


# ---- issue 5 extras: links, DNS over TCP, IPv6, ip_range / aux_addresses, MTU


def test_links_alias_resolves_only_for_the_linking_container(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    db = server(e, f"p-db-1-{_uid()}", NetworkAttachment(net, ("db",)))
    code, out = run(
        e, f"cli-{_uid()}", "nslookup database && wget -q -O - http://database/hostname",
        NetworkAttachment(net, ("cli",)), links=("db:database",),
    )
    assert code == 0, out
    assert _addresses(out, "database") == {db.state.addresses[net]}
    assert db.id[:12] in out  # the HTTP answer came from db through its link alias
    code, out = run(e, f"other-{_uid()}", "nslookup database", NetworkAttachment(net, ()))
    assert code != 0, out  # no link here: the alias is not a name on the network


def _dns_query(server_ip: str, name: str, tcp: bool) -> DNSRecord:
    question = DNSRecord.question(name).pack()
    if tcp:
        with socket.create_connection((server_ip, 53), timeout=5) as conn:
            conn.sendall(len(question).to_bytes(2, "big") + question)
            size = int.from_bytes(conn.recv(2), "big")
            data = b""
            while len(data) < size:  # bounded by size; recv returns b"" at EOF
                chunk = conn.recv(size - len(data))
                assert chunk, "resolver closed the TCP connection early"
                data += chunk
            return DNSRecord.parse(data)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(question, (server_ip, 53))
        return DNSRecord.parse(sock.recvfrom(4096)[0])


def test_a_big_answer_is_truncated_over_udp_and_whole_over_tcp(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    replicas = [
        server(e, f"p-web-{i}-{_uid()}", NetworkAttachment(net, ("web",))) for i in range(36)
    ]
    gateway = e.networks.get_network(net).gateway
    udp = _dns_query(gateway, "web", tcp=False)
    assert udp.header.tc == 1 and not udp.rr  # 36 A records do not fit 512 bytes
    tcp = _dns_query(gateway, "web", tcp=True)
    assert {str(rr.rdata) for rr in tcp.rr} == {r.state.addresses[net] for r in replicas}


def test_ipv6_addresses_aaaa_records_and_ping6(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    name = f"t5v6_{_uid()}"
    e.ensure_network(name, labels={}, options=NetworkOptions(ipv6_subnet="fd5d:7:1::/64"))
    web = server(e, f"web-{_uid()}", NetworkAttachment(name, ("web",), None, "fd5d:7:1::80"))
    code, out = run(
        e, f"cli-{_uid()}",
        "ip -6 -o addr show eth0; ip -6 route; nslookup -type=AAAA web; "
        "ping -6 -c 1 -W 2 fd5d:7:1::80 && echo PING6-OK; "
        "wget -q -O - 'http://[fd5d:7:1::80]/hostname'",
        NetworkAttachment(name, ()),
    )
    assert code == 0, out
    assert "fd5d:7:1::2/64" in out  # the first dynamic address after the gateway
    assert "default via fd5d:7:1::1" in out
    assert "fd5d:7:1::80" in _aaaa(out, "web")
    assert "PING6-OK" in out and web.id[:12] in out


def _aaaa(output: str, name: str) -> set[str]:
    return {line.split()[-1] for line in output.splitlines()
            if line.startswith("Address:") and ":" in line.split()[-1]} if name in output else set()


def test_ip_range_aux_addresses_and_mtu_through_the_engine(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    name = f"t5r_{_uid()}"
    e.ensure_network(
        name, labels={}, subnet="10.252.9.0/24",
        options=NetworkOptions(ip_range="10.252.9.16/29", aux_addresses={"nas": "10.252.9.16"},
                               mtu=1280),
    )
    code, out = run(e, f"cli-{_uid()}", "ip -o -4 addr show eth0; cat /sys/class/net/eth0/mtu",
                    NetworkAttachment(name, ()))
    assert code == 0, out
    assert "10.252.9.17/24" in out  # from the range, .16 held by aux_addresses
    assert out.split()[-1] == "1280"
