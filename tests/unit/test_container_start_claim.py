"""The claim on a container's start (ContainerStore.claim_start): one live supervisor owns a
start until it runs or fails; another's claim is refused, the owner's own (a restart) passes,
and a claim whose owner is dead counts for nothing (liveness, not the file)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine.containers import ContainerSpec, ContainerState, ContainerStatus, ContainerStore
from engine.errors import StartClaimedError
from engine.layout import Layout
from engine.processes import start_time

IMAGE = "sha256:" + "0" * 64


@pytest.fixture
def store(tmp_path: Path) -> ContainerStore:
    layout = Layout(tmp_path / "root")
    layout.ensure()
    return ContainerStore(layout)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _me() -> tuple[int, int | None]:
    return os.getpid(), start_time(os.getpid())


def test_a_live_owners_start_is_refused_to_another(store: ContainerStore) -> None:
    record = store.create(ContainerSpec(name="claimed", image="busybox"), IMAGE)
    store.claim_start(record.id, *_me())
    state = store.load_state(record.id)
    assert state.starting and state.status is ContainerStatus.CREATED  # what `ps` shows
    with pytest.raises(StartClaimedError):
        store.claim_start(record.id, 1, start_time(1))
    store.claim_start(record.id, *_me())  # the owner's own: no error


def test_a_dead_owners_claim_is_taken_over_and_its_leftovers_released(
    store: ContainerStore,
) -> None:
    record = store.create(ContainerSpec(name="orphaned", image="busybox"), IMAGE)
    store.claim_start(record.id, _dead_pid(), None)
    released: list[ContainerState] = []
    state = store.end_dead_start(record.id, released.append)
    assert len(released) == 1 and not state.starting and state.error
    store.claim_start(record.id, *_me())  # a new start may go on
    assert store.end_dead_start(record.id, released.append).starting  # live: left alone
    assert len(released) == 1


def test_a_running_state_of_a_dead_supervisor_is_not_kept_under_a_new_claim(
    store: ContainerStore,
) -> None:
    record = store.create(ContainerSpec(name="stale", image="busybox"), IMAGE)
    store.update_state(record.id, status=ContainerStatus.RUNNING, pid=_dead_pid(),
                       supervisor_pid=_dead_pid(), supervisor_start=None)
    store.claim_start(record.id, *_me())
    state = store.load_state(record.id)
    assert state.starting and state.status is ContainerStatus.EXITED and state.pid is None


def test_a_claim_over_a_dead_owner_releases_its_leftovers_first(store: ContainerStore) -> None:
    record = store.create(ContainerSpec(name="killed", image="busybox"), IMAGE)
    store.update_state(record.id, status=ContainerStatus.RUNNING, pid=_dead_pid(),
                       supervisor_pid=_dead_pid(), supervisor_start=None,
                       addresses={"net": "10.1.0.2"})
    released: list[ContainerState] = []
    store.claim_start(record.id, *_me(), released.append)
    assert [s.addresses for s in released] == [{"net": "10.1.0.2"}]
    assert store.load_state(record.id).addresses == {}  # the old run's, given back
    store.claim_start(record.id, *_me(), released.append)  # its own again: nothing to release
    other = store.create(ContainerSpec(name="never-ran", image="busybox"), IMAGE)
    store.claim_start(other.id, *_me(), released.append)  # nobody owned it: nothing either
    assert len(released) == 1
