"""A container on a bridge network across restarts of its restart policy: the supervisor
detaches each run's network (in a throwaway child: it lives on) and attaches the next one under
the same endpoint id, and detaches the last run's in-process just before it exits. Real kernel;
traffic stays on the bridge this test creates.
"""

from __future__ import annotations

import os
import re
import uuid

from engine.api import ContainerSpec, Engine, NetworkAttachment


def test_each_restart_gets_the_network_again_and_the_last_exit_releases_it(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    net = f"t5r_{uuid.uuid4().hex[:8]}"
    engine.ensure_network(net, labels={})
    bridge = engine.networks.get_network(net).bridge
    info = engine.create_container(ContainerSpec(
        name=f"restarts-{uuid.uuid4().hex[:8]}", image="busybox",
        command=("sh", "-c", "ip -4 addr show eth0; ip route; exit 3"),
        networks=(NetworkAttachment(net, ("flaky",)),), restart_policy="on-failure:2",
    ))
    engine.start_container(info.id)
    assert engine.wait_container(info.id, timeout=60) == 3
    out = "".join(line.text for line in engine.logs(info.id))
    state = engine.inspect(info.id).state
    assert state.restart_count == 2
    addresses = re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    assert len(addresses) == 3, out  # every run had its eth0 address ...
    assert out.count("default via") == 3, out  # ... and its default route
    assert state.addresses == {}
    assert engine.networks.endpoints(net) == []  # nothing attached after the last exit
    assert os.listdir(f"/sys/class/net/{bridge}/brif") == []  # no veth left on the bridge
    engine.remove_container(info.id)
    engine.remove_network(net)
