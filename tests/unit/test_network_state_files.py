"""Network state files written by another build (a newer field) still load."""

from __future__ import annotations

import json
from pathlib import Path

from netdriver.model import Endpoint, Network
from netdriver.state import EndpointRecord, NetworkRecord, StateStore


def test_a_record_with_fields_this_build_does_not_know_still_loads(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    net = Network(id="a" * 64, name="n1", bridge="pcbrx", subnet="10.9.0.0/24",
                  gateway="10.9.0.1", internal=False, labels={"k": "v"})
    ep = Endpoint(network="n1", endpoint_id="c1", ifname="eth0", host_ifname="pcvx",
                  ipv4="10.9.0.2", prefixlen=24, gateway="10.9.0.1", mac="02:42:0a:09:00:02",
                  names=("web",), owner_pid=123)
    store.save(NetworkRecord(net, (EndpointRecord(ep, 456),)))
    path = tmp_path / "networks" / "n1.json"
    data = json.loads(path.read_text())
    data["network"]["future_option"] = True
    data["endpoints"][0]["attacher"] = [1, 2]
    path.write_text(json.dumps(data))
    rec = store.load("n1")
    assert rec is not None
    assert rec.network == net
    assert rec.endpoints == (EndpointRecord(ep, 456),)
