"""`events --since/--until` replays what the containers' records show: create, the last
run's start and its end (die with the exit code, stop after a stop), in time order and only
within the window asked for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from compose.cli.event_history import recorded_events
from engine.api import ContainerInfo
from engine.containers import ContainerRecord, ContainerSpec, ContainerState, ContainerStatus


def _info(name: str, created: str, state: ContainerState) -> ContainerInfo:
    record = ContainerRecord(name, name, created, "sha256:x", ContainerSpec(name, "busybox"))
    return ContainerInfo(record, state, Path("/nonexistent"))


def _at(second: int) -> datetime:
    return datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)


def _stamp(second: int) -> str:
    return f"2026-01-01T00:00:{second:02d}.000000Z"


STOPPED = _info("db", _stamp(1), ContainerState(
    status=ContainerStatus.EXITED, started_at=_stamp(2), finished_at=_stamp(5), exit_code=137,
    stop_requested=True, stop_count=1,
))
EXITED = _info("job", _stamp(3), ContainerState(  # killed: asked to stop, no stop counted
    status=ContainerStatus.EXITED, started_at=_stamp(4), finished_at=_stamp(6), exit_code=4,
    stop_requested=True,
))
RUNNING = _info("web", _stamp(7), ContainerState(
    status=ContainerStatus.RUNNING, started_at=_stamp(8), finished_at=_stamp(1), exit_code=0,
))
CREATED = _info("new", _stamp(9), ContainerState())


def _seen(since: int | None, until: int | None) -> list[tuple[str, str, dict[str, str]]]:
    found = recorded_events(
        [RUNNING, CREATED, EXITED, STOPPED],
        None if since is None else _at(since), None if until is None else _at(until),
    )
    return [(e.info.name, e.action, e.attributes) for e in found]


def test_every_recorded_event_in_time_order() -> None:
    assert _seen(None, None) == [
        ("db", "create", {}), ("db", "start", {}), ("job", "create", {}), ("job", "start", {}),
        ("db", "die", {"exitCode": "137"}), ("db", "stop", {}),
        ("job", "die", {"exitCode": "4"}),
        ("web", "create", {}), ("web", "start", {}),  # an older run's end is not this run's
        ("new", "create", {}),
    ]


def test_since_and_until_bound_the_window_both_inclusive() -> None:
    assert _seen(5, 7) == [
        ("db", "die", {"exitCode": "137"}), ("db", "stop", {}),
        ("job", "die", {"exitCode": "4"}), ("web", "create", {}),
    ]
    assert _seen(10, None) == []
    assert _seen(None, 1) == [("db", "create", {})]


def test_recorded_attaches_are_replayed_at_their_times() -> None:
    """An attached `up` attached just before the start: replayed in that order."""
    up = _info("api", _stamp(10), ContainerState(
        status=ContainerStatus.RUNNING, started_at=_stamp(12), attach_count=2,
        recent_attaches=[_stamp(11), _stamp(14)],
    ))
    found = recorded_events([up], _at(10), None)
    assert [(e.action, e.time) for e in found] == [
        ("create", _at(10)), ("attach", _at(11)), ("start", _at(12)), ("attach", _at(14)),
    ]
