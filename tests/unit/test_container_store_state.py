"""The container store's records and state files: what is written comes back the same, a
removed container stays removed whoever writes its state late, and a state file a power cut
tore reads as a dead container instead of a traceback."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from engine.containers import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    ContainerStore,
    MountKind,
    MountSpec,
    NetworkAttachment,
)
from engine.errors import ContainerNotFoundError
from engine.layout import Layout
from engine.ports import PortSpec, PublishedPort
from engine.runtime_spec import HealthcheckConfig

IMAGE = "sha256:" + "0" * 64


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "root")
    layout.ensure()
    return layout


def rich_spec() -> ContainerSpec:
    """A spec using every kind of nested value a record holds (enums, tuples, dataclasses)."""
    return ContainerSpec(
        name="web-1",
        image="busybox",
        command=("sleep", "3600"),
        env={"A": "1"},
        labels={"com.docker.compose.project": "p"},
        mounts=(
            MountSpec(MountKind.VOLUME, "/data", "shared", read_only=True),
            MountSpec(MountKind.BIND, "/src", "/tmp", create_host_path=True, propagation="rslave"),
        ),
        networks=(NetworkAttachment("p_default", ("web", "www"), "10.1.0.5"),),
        ports=(PortSpec(80, "8080", "127.0.0.1"), PortSpec(53, None, None, "udp")),
        cap_add=("NET_ADMIN",),
        ulimits={"nofile": (1024, 2048)},
        healthcheck=HealthcheckConfig(("CMD", "true"), interval=2.0),
        init=True,
    )


def test_record_reads_back_equal_from_a_fresh_store(layout: Layout) -> None:
    record = ContainerStore(layout).create(rich_spec(), IMAGE)
    assert ContainerStore(layout).load(record.id) == record  # parsed from disk, not cached


def test_state_reads_back_equal(layout: Layout) -> None:
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), IMAGE)
    state = ContainerState(
        status=ContainerStatus.RUNNING, pid=42, addresses={"p_default": "10.1.0.5"},
        ports=(PublishedPort("0.0.0.0", 8080, 80, "tcp"),), health_status="healthy",
        health_log=[{"ExitCode": 0, "Output": "ok"}], recent_signals=[15, 9],
    )
    store.save_state(record.id, state)
    assert ContainerStore(layout).load_state(record.id) == state


def test_a_new_record_is_created_and_a_removed_one_dead(layout: Layout) -> None:
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), IMAGE)
    assert store.load_state(record.id).status is ContainerStatus.CREATED
    store.delete(record.id)
    assert store.load_state(record.id).status is ContainerStatus.DEAD
    with pytest.raises(ContainerNotFoundError):
        store.load(record.id)  # the record this store read before is not handed out again


def test_state_written_after_rm_does_not_bring_the_container_back(layout: Layout) -> None:
    """A supervisor recording its container's exit after `rm` removed the record."""
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), IMAGE)
    running = replace(ContainerState(), status=ContainerStatus.RUNNING, pid=42)
    store.save_state(record.id, running)
    store.delete(record.id)
    late = ContainerStore(layout)  # the supervisor's own store
    late.save_state(record.id, replace(running, status=ContainerStatus.EXITED, exit_code=0))
    late.update_state(record.id, status=ContainerStatus.EXITED)
    late.record_signal(record.id, 15)
    late.record_stop(record.id)
    assert not layout.container_dir(record.id).exists()
    assert [n for n in os.listdir(layout.containers) if not n.startswith(".")] == []
    assert ContainerStore(layout).all() == []
    assert late.find("web-1") is None


def test_state_torn_by_a_power_cut_reads_as_dead(layout: Layout) -> None:
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), IMAGE)
    store.save_state(record.id, replace(ContainerState(), status=ContainerStatus.RUNNING))
    (layout.container_dir(record.id) / "state.json").write_text("")  # data never reached disk
    assert store.load_state(record.id).status is ContainerStatus.DEAD
    store.update_state(record.id, status=ContainerStatus.EXITED, exit_code=255)  # and repairs
    assert store.load_state(record.id).exit_code == 255


def test_state_file_is_plain_sorted_json(layout: Layout) -> None:
    """Other tools (and older builds) read these files: enums as values, keys sorted."""
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), IMAGE)
    store.update_state(record.id, status=ContainerStatus.RUNNING)
    text = (layout.container_dir(record.id) / "state.json").read_text()
    raw = json.loads(text)
    assert raw["status"] == "running"
    assert list(raw) == sorted(raw)
    config = json.loads((layout.container_dir(record.id) / "config.json").read_text())
    assert config["spec"]["mounts"] == [] and config["name"] == "web-1"


def test_request_stop_marks_and_counts_the_signal_in_one_write(layout: Layout) -> None:
    """A running init: the stop mark and the signal's count land together (events: kill)."""
    store = ContainerStore(layout)
    record = store.create(rich_spec(), IMAGE)
    store.update_state(record.id, status=ContainerStatus.RUNNING, pid=os.getpid())
    state, send = store.request_stop(record.id, 15)
    assert send and state.stop_requested
    assert (state.kill_count, state.recent_signals) == (1, [15])
    assert store.load_state(record.id) == state


def test_request_stop_of_an_exited_container_sends_nothing(layout: Layout) -> None:
    store = ContainerStore(layout)
    record = store.create(rich_spec(), IMAGE)
    store.update_state(record.id, status=ContainerStatus.EXITED, pid=None)
    state, send = store.request_stop(record.id, 15)
    assert not send and state.stop_requested and state.kill_count == 0


@pytest.mark.parametrize("count_stop", [True, False])
def test_delete_keeps_the_final_state_with_the_stop_counted(
    layout: Layout, count_stop: bool
) -> None:
    """`down` counts each stop with the removal: the state kept for `events` shows it."""
    store = ContainerStore(layout)
    record = store.create(rich_spec(), IMAGE)
    final = ContainerState(status=ContainerStatus.EXITED, exit_code=143, kill_count=1,
                           recent_signals=[15], die_count=1, recent_exit_codes=[143],
                           stop_count=9)  # 9 -> 10: the kept file grows by a byte
    store.save_state(record.id, final)
    store.delete(record.id, count_stop=count_stop)
    assert store.find(record.id) is None
    assert store.removed_state(record.id) == replace(final, stop_count=9 + int(count_stop))
    assert os.listdir(layout.containers) == []
