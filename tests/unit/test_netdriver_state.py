"""State store: round trip, atomic files, name checks, and the cross-process lock."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

from netdriver.errors import InvalidNetworkConfigError
from netdriver.model import Endpoint, Network
from netdriver.state import EndpointRecord, NetworkRecord, StateStore

NET = Network(
    id="f" * 64, name="proj_default", bridge="pcbr0123456789a", subnet="172.18.0.0/16",
    gateway="172.18.0.1", internal=False, labels={"com.docker.compose.project": "proj"},
)


def ep(eid: str, ip: str) -> EndpointRecord:
    return EndpointRecord(
        Endpoint(network=NET.name, endpoint_id=eid, ifname="eth0", host_ifname="pcv" + eid,
                 ipv4=ip, prefixlen=16, gateway=NET.gateway, mac="02:42:ac:12:00:02",
                 names=("web", "proj-web-1"), owner_pid=123),
        owner_start=4567,
    )


def test_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    rec = NetworkRecord(NET, (ep("a", "172.18.0.2"), ep("b", "172.18.0.3")))
    store.save(rec)
    assert store.load(NET.name) == rec
    assert store.load_all() == [rec]
    assert store.load("other") is None


def test_no_temp_files_left(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(NetworkRecord(NET))
    store.save(NetworkRecord(NET, (ep("a", "172.18.0.2"),)))
    assert [p.name for p in (tmp_path / "networks").iterdir()] == ["proj_default.json"]


def test_delete_is_idempotent(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(NetworkRecord(NET))
    store.delete(NET.name)
    store.delete(NET.name)
    assert store.load_all() == []


def test_record_helpers() -> None:
    rec = NetworkRecord(NET).with_endpoint(ep("a", "172.18.0.2"))
    rec = rec.with_endpoint(ep("b", "172.18.0.3"))
    rec = rec.with_endpoint(replace(ep("a", "172.18.0.9")))
    assert sorted(e.endpoint.ipv4 for e in rec.endpoints) == ["172.18.0.3", "172.18.0.9"]
    assert rec.find("b") is not None and rec.find("zz") is None
    assert rec.without({"a", "b"}).endpoints == ()


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "-x", "x" * 300])
def test_bad_names_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidNetworkConfigError):
        StateStore(tmp_path).load(bad)


def _bump(root: str, rounds: int) -> None:
    store = StateStore(Path(root))
    for _ in range(rounds):
        with store.locked():
            rec = store.load(NET.name)
            assert rec is not None
            n = len(rec.endpoints)
            store.save(rec.with_endpoint(ep(f"e{n}", f"172.18.{n // 250}.{n % 250 + 2}")))


def test_lock_serializes_processes(tmp_path: Path) -> None:
    """Read-modify-write from several processes loses no update."""
    StateStore(tmp_path).save(NetworkRecord(NET))
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bump, args=(str(tmp_path), 20)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    rec = StateStore(tmp_path).load(NET.name)
    assert rec is not None and len(rec.endpoints) == 80
