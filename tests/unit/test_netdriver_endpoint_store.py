"""Endpoint files and address claims: exclusive claims, atomic content, tolerant readers."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

from netdriver.endpoint_store import EndpointStore
from netdriver.model import Endpoint, Network

NET = Network(
    id="a" * 64, name="proj_default", bridge="pcbr0123456789a", subnet="172.18.0.0/16",
    gateway="172.18.0.1", internal=False,
)
OTHER = replace(NET, id="b" * 64, name="proj_other")


def endpoint(eid: str, ip: str) -> Endpoint:
    return Endpoint(network=NET.name, endpoint_id=eid, ifname="eth0", host_ifname="pcv" + eid,
                    ipv4=ip, prefixlen=16, gateway=NET.gateway, mac="02:42:ac:12:00:02",
                    names=("web", "proj-web-1"), owner_pid=123)


def test_claims_are_exclusive_and_per_network(tmp_path: Path) -> None:
    store = EndpointStore(tmp_path)
    assert store.claim_address(NET, "172.18.0.2")
    assert not store.claim_address(NET, "172.18.0.2")
    assert store.claim_address(OTHER, "172.18.0.2")  # another network: its own claims
    assert store.claim_endpoint(NET, "pcva")
    assert not store.claim_endpoint(NET, "pcva")
    assert store.taken(NET, store.listing()) == {"172.18.0.2"}
    store.release_address(NET, "172.18.0.2")
    assert store.claim_address(NET, "172.18.0.2")  # released: claimable again


def test_readers_skip_an_attach_in_progress_and_see_the_completed_one(tmp_path: Path) -> None:
    store = EndpointStore(tmp_path)
    assert store.claim_endpoint(NET, "pcva")
    assert [s.endpoint for s in store.endpoints(NET)] == [None]
    ep = endpoint("a", "172.18.0.2")
    store.complete(NET, ep, 4567)
    (got,) = store.endpoints(NET)
    assert (got.endpoint, got.owner_start) == (ep, 4567)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{'a' * 16}.e.pcva"]  # no temp file
    (tmp_path / f"{'a' * 16}.e.pcva").write_text("{torn")  # a crash mid-write: unreadable
    torn = store.read(NET, "pcva")
    assert torn is not None and torn.endpoint is None  # pruned as dead, never half-read


def test_removal_and_orphan_claims(tmp_path: Path) -> None:
    store = EndpointStore(tmp_path)
    for eid, ip in (("a", "172.18.0.2"), ("b", "172.18.0.3")):
        store.claim_endpoint(NET, "pcv" + eid)
        store.claim_address(NET, ip)
        store.complete(NET, endpoint(eid, ip), None)
    store.claim_address(NET, "172.18.0.9")  # nobody holds it (a crash after the claim)
    store.claim_address(OTHER, "172.18.0.9")
    (stored_a,) = [s for s in store.endpoints(NET) if s.host_ifname == "pcva"]
    store.remove(NET, stored_a)
    store.remove_orphan_claims(NET, [s.endpoint for s in store.endpoints(NET) if s.endpoint])
    assert store.taken(NET, store.listing()) == {"172.18.0.3"}
    assert store.taken(OTHER, store.listing()) == {"172.18.0.9"}  # not this network's
    store.remove_all(NET)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{'b' * 16}.a.172.18.0.9"]


def test_files_of_networks_without_a_record_are_swept(tmp_path: Path) -> None:
    store = EndpointStore(tmp_path)
    store.claim_address(NET, "172.18.0.2")
    store.claim_endpoint(OTHER, "pcvb")
    (tmp_path / f".{'a' * 16}.e.pcva.77.tmp").touch()  # a write cut short
    (tmp_path / "proj_default.json").touch()  # records are not ours to touch
    assert sorted(store.remove_unowned([NET])) == [f".{'a' * 16}.e.pcva.77.tmp",
                                                   f"{'b' * 16}.e.pcvb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{'a' * 16}.a.172.18.0.2",
                                                          "proj_default.json"]


def _claim_many(directory: str, out: multiprocessing.Queue) -> None:
    store = EndpointStore(Path(directory))
    out.put([ip for n in range(2, 42) if store.claim_address(NET, ip := f"172.18.0.{n}")])


def test_processes_racing_for_addresses_never_share_one(tmp_path: Path) -> None:
    out: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_claim_many, args=(str(tmp_path), out))
             for _ in range(4)]
    for p in procs:
        p.start()
    won = [ip for _ in procs for ip in out.get(timeout=30)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(won) == sorted(f"172.18.0.{n}" for n in range(2, 42))  # each exactly once


def test_the_resolvers_cached_reader_follows_every_change(tmp_path: Path) -> None:
    """Parsed once per file, but a re-attach (same file name, new content), an attach in
    progress, a detach and a dead owner all show in the next read."""
    from netdriver.liveness import process_start_time
    from netdriver.snapshot import CachedLiveNetworks, live_networks
    from netdriver.state import NetworkRecord, StateStore

    StateStore(tmp_path).save(NetworkRecord(NET))
    store = EndpointStore(tmp_path / "networks")
    reader = CachedLiveNetworks(tmp_path)
    me = replace(endpoint("a", "172.18.0.2"), owner_pid=os.getpid())
    store.claim_endpoint(NET, "pcva")
    assert reader.read() == [(NET, [])]  # in progress: not yet a name
    store.complete(NET, me, process_start_time(os.getpid()))
    assert reader.read() == [(NET, [me])]
    moved = replace(me, ipv4="172.18.0.7")
    store.complete(NET, moved, process_start_time(os.getpid()))  # same name, new content
    dead = replace(endpoint("b", "172.18.0.3"), owner_pid=os.getpid())
    store.claim_endpoint(NET, "pcvb")
    store.complete(NET, dead, 1)  # another start time: that owner is gone
    assert reader.read() == [(NET, [moved])] == live_networks(tmp_path)
    (stored,) = [s for s in store.endpoints(NET) if s.host_ifname == "pcva"]
    store.remove(NET, stored)
    assert reader.read() == [(NET, [])]
