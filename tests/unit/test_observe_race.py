"""The engine's view of a container whose supervisor is gone (engine.api `_observe`): a
supervisor that records its container's exit and then ends between the engine's read of the
state and its liveness check is gone *with its exit recorded*, and must not be reported as a
crashed one (`exited with code 255`, which an `up --wait` then blamed on a healthy one-shot)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import engine.api as api
from engine.api import ContainerSpec, ContainerStatus, Engine

IMAGE = "sha256:" + "0" * 64


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(tmp_path / "root")


def _running(engine: Engine) -> str:
    record = engine.containers.create(ContainerSpec(name="job-1", image="busybox"), IMAGE)
    engine.containers.update_state(
        record.id, status=ContainerStatus.RUNNING, supervisor_pid=os.getpid(), supervisor_start=1
    )
    return record.id


def test_an_exit_recorded_just_before_the_supervisor_ended_is_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    container_id = _running(engine)

    def supervisor_finishes_meanwhile(pid: int | None, start: int | None) -> bool:
        # What the supervisor does between the two: records the exit (code 0), then ends.
        engine.containers.record_exit(container_id, 0, status=ContainerStatus.EXITED, pid=None)
        return False

    monkeypatch.setattr(api, "is_alive", supervisor_finishes_meanwhile)
    state = engine.inspect(container_id).state
    assert (state.status, state.exit_code) == (ContainerStatus.EXITED, 0)


def test_a_supervisor_that_died_without_a_word_is_reported_crashed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    container_id = _running(engine)
    monkeypatch.setattr(api, "is_alive", lambda pid, start: False)
    monkeypatch.setattr(api, "container_cgroup", lambda cid, parent=None: _NoCgroup())
    state = engine.inspect(container_id).state
    assert (state.status, state.exit_code) == (ContainerStatus.EXITED, 255)
    # why, for `container inspect`'s State.Error: the recorded supervisor is another process
    assert state.error is not None
    assert f"supervisor {os.getpid()} ended without recording its exit" in state.error
    assert "is another process now" in state.error


class _NoCgroup:
    """Nothing to kill or remove: the test made no kernel object."""

    def kill_all(self) -> None:
        pass

    def remove(self) -> None:
        pass
