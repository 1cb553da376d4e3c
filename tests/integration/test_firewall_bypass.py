"""The conntrack bypass for traffic between two containers of one bridge (netdriver/firewall.py).

What a user would notice if it went wrong: container-to-container connections filling the
host's conntrack table (the bypass not applied), or the traffic that *does* need conntrack
breaking (the bypass applied too widely): published ports reached from a container of the same
bridge or of another bridge, isolation between bridges, an internal network's own traffic.
Conntrack entries are read from /proc/net/nf_conntrack: a closed TCP connection that was
tracked stays there in TIME_WAIT for two minutes, one that was not never appears.

Traffic only goes to containers on bridges these tests create.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from engine.api import ContainerInfo, ContainerSpec, Engine, NetworkAttachment, PortSpec
from netdriver import firewall

CONNTRACK = Path("/proc/net/nf_conntrack")


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _tracked(src: str, dst: str, dport: int) -> bool:
    """Whether conntrack holds a TCP connection ``src`` -> ``dst``:``dport`` (original way)."""
    needle = f"src={src} dst={dst} "
    for line in CONNTRACK.read_text().splitlines():
        if " tcp " in line and needle in line and f" dport={dport} " in line.split("src=", 2)[1]:
            return True
    return False


def _server(e: Engine, port: int, *attachments: NetworkAttachment,
            **extra: object) -> ContainerInfo:
    info = e.create_container(ContainerSpec(
        name=f"web-{_uid()}", image="busybox",
        command=("httpd", "-f", "-p", str(port), "-h", "/etc"),
        networks=attachments, **extra,  # type: ignore[arg-type]
    ))
    return e.start_container(info.id)


def _client(e: Engine, script: str, attachment: NetworkAttachment) -> tuple[int, str, str]:
    """Run ``script`` in a one-shot busybox; (exit code, output, the client's address)."""
    info = e.create_container(ContainerSpec(
        name=f"cli-{_uid()}", image="busybox", command=("sh", "-c", script),
        networks=(attachment,),
    ))
    info = e.start_container(info.id)
    address = info.state.addresses[attachment.network]
    code = e.wait_container(info.id, timeout=60)
    out = "".join(line.text for line in e.logs(info.id))
    assert code is not None, f"client did not finish: {out}"
    return code, out, address


@pytest.fixture(autouse=True)
def _needs_conntrack_table() -> None:
    if not CONNTRACK.exists():
        pytest.skip("no /proc/net/nf_conntrack on this kernel")


def test_same_bridge_traffic_skips_conntrack_and_ported_traffic_keeps_it(
    engine_with_busybox: Engine,
) -> None:
    e = engine_with_busybox
    front, back = f"t5f_{_uid()}", f"t5b_{_uid()}"
    e.ensure_network(front, labels={})
    e.ensure_network(back, labels={})
    port = random.randrange(20000, 30000)  # unlike any port other tests' containers use
    web = _server(e, port, NetworkAttachment(front, ("web",)), ports=(PortSpec(port),))
    web_ip = web.state.addresses[front]
    [published] = web.state.ports
    gw_front, gw_back = e.networks.get_network(front).gateway, e.networks.get_network(back).gateway

    # Same bridge, straight to the container: served, and conntrack never saw it.
    code, out, client_ip = _client(
        e, f"wget -q -O - http://web:{port}/hostname", NetworkAttachment(front, ()))
    assert code == 0 and web.id[:12] in out, out
    assert not _tracked(client_ip, web_ip, port)

    # Same bridge through the published port on the gateway (DNAT + MASQUERADE back to us).
    code, out, client_ip = _client(
        e, f"wget -q -O - http://{gw_front}:{published.host_port}/hostname",
        NetworkAttachment(front, ()))
    assert code == 0 and web.id[:12] in out, out
    assert _tracked(client_ip, gw_front, published.host_port)  # the positive control

    # Another bridge: through the published port yes, straight to the container no.
    code, out, client_ip = _client(
        e, f"wget -q -O - http://{gw_back}:{published.host_port}/hostname; echo; "
           f"timeout 3 wget -q -O - http://{web_ip}:{port}/hostname && echo DIRECT; true",
        NetworkAttachment(back, ()))
    assert code == 0 and out.count(web.id[:12]) == 1 and "DIRECT" not in out, out


def test_internal_network_traffic_is_untracked_and_still_flows(
    engine_with_busybox: Engine,
) -> None:
    e = engine_with_busybox
    name = f"t5i_{_uid()}"
    e.ensure_network(name, labels={}, internal=True)
    port = random.randrange(30000, 40000)
    web = _server(e, port, NetworkAttachment(name, ("web",)))
    code, out, client_ip = _client(
        e, f"wget -q -O - http://web:{port}/hostname", NetworkAttachment(name, ()))
    assert code == 0 and web.id[:12] in out, out
    assert not _tracked(client_ip, web.state.addresses[name], port)


def test_bypass_rules_come_and_go_with_the_network(engine_with_busybox: Engine) -> None:
    e = engine_with_busybox
    name = f"t5r_{_uid()}"
    net = e.ensure_network(name, labels={})
    mine = [r for r in firewall.all_tagged_rules() if f"pcnet:{net.bridge}" in r]
    raw = [r for r in mine if r.startswith(f"-A {firewall.RAW_CHAIN} ")]
    assert any("--notrack" in r and f"-s {net.subnet} -d {net.subnet}" in r for r in raw), mine
    assert any(f"-d {net.gateway}/32" in r and r.endswith("-j RETURN") for r in raw), mine
    e.ensure_network(name, labels={})  # idempotent: re-installing does not duplicate
    assert sorted(r for r in firewall.all_tagged_rules() if f"pcnet:{net.bridge}" in r) == sorted(
        mine)
    e.remove_network(name)
    assert not [r for r in firewall.all_tagged_rules() if net.bridge in r]
