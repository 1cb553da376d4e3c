"""`events` as docker reports a stop or a kill, inferred from two polls of the engine's state:
`kill` (with the signal), `die` (with the exit code, also when the container was removed
before the next poll), `stop`, `destroy` — in Docker's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compose.cli.misc_cmds import _changes
from engine.containers import ContainerSpec, ContainerState, ContainerStatus, ContainerStore
from engine.layout import Layout


@dataclass(frozen=True)
class Info:
    state: ContainerState = field(default_factory=ContainerState)


RUNNING = ContainerState(status=ContainerStatus.RUNNING, started_at="t0")


def _actions(before: dict, after: dict, removed: dict | None = None) -> list:
    found = (removed or {}).get
    return [(action, attrs) for action, _info, attrs in _changes(before, after, found)]


def _snap(state: ContainerState) -> tuple[str, None, str | None, Info]:
    return (state.status.value, None, state.started_at, Info(state))


def test_stop_is_kill_die_stop() -> None:
    stopped = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=143,
        kill_count=1, recent_signals=[15], stop_count=1,
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(stopped)}) == [
        ("kill", {"signal": "15"}), ("die", {"exitCode": "143"}), ("stop", {}),
    ]


def test_stop_past_its_grace_period_sends_two_kills() -> None:
    stopped = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=137,
        kill_count=2, recent_signals=[15, 9], stop_count=1,
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(stopped)})[:2] == [
        ("kill", {"signal": "15"}), ("kill", {"signal": "9"}),
    ]


def test_kill_is_kill_die_without_stop() -> None:
    killed = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=137,
        kill_count=1, recent_signals=[9],
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(killed)}) == [
        ("kill", {"signal": "9"}), ("die", {"exitCode": "137"}),
    ]


def test_a_signal_that_does_not_end_it_is_only_a_kill() -> None:
    hupped = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", kill_count=1, recent_signals=[1]
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(hupped)}) == [("kill", {"signal": "1"})]


def test_stopped_and_removed_between_two_polls_keeps_its_exit_code() -> None:
    final = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=143,
        kill_count=1, recent_signals=[15], stop_count=1,
    )
    assert _actions({"c": _snap(RUNNING)}, {}, {"c": final}) == [
        ("kill", {"signal": "15"}), ("die", {"exitCode": "143"}), ("stop", {}), ("destroy", {}),
    ]
    # Nothing known about its end (removed over a minute ago): die and destroy, as before.
    assert _actions({"c": _snap(RUNNING)}, {}) == [("die", {}), ("destroy", {})]


def test_a_deleted_containers_last_state_stays_readable(tmp_path: Path) -> None:
    store = ContainerStore(Layout(tmp_path))
    record = store.create(ContainerSpec(name="web-1", image="busybox"), "sha256:" + "0" * 64)
    store.update_state(record.id, status=ContainerStatus.EXITED, exit_code=3)
    store.record_signal(record.id, 15)
    store.record_stop(record.id)
    store.delete(record.id)
    assert list(store.layout.containers.iterdir()) == []
    final = store.removed_state(record.id)
    assert final is not None
    assert (final.exit_code, final.kill_count, final.recent_signals, final.stop_count) == (
        3, 1, [15], 1)
    assert store.removed_state("../" + record.id[3:]) is None


def test_restart_is_kill_die_stop_start_restart() -> None:
    # `pycompose restart` between two polls: Docker's order puts `stop` before the new `start`
    restarted = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t1", kill_count=1, recent_signals=[15],
        stop_count=1, die_count=1, recent_exit_codes=[143], restart_requests=1,
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(restarted)}) == [
        ("kill", {"signal": "15"}), ("die", {"exitCode": "143"}), ("stop", {}),
        ("start", {}), ("restart", {}),
    ]


def test_restart_of_a_stopped_container_is_start_restart() -> None:
    stopped = ContainerState(status=ContainerStatus.EXITED, started_at="t0", exit_code=0)
    again = ContainerState(status=ContainerStatus.RUNNING, started_at="t1", restart_requests=1)
    assert _actions({"c": _snap(stopped)}, {"c": _snap(again)}) == [
        ("start", {}), ("restart", {}),
    ]


def test_restart_policy_is_die_then_start_with_each_exit_code() -> None:
    # restarted twice by `restart: on-failure` between two polls: die, start, die, start
    twice = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t2", die_count=2, recent_exit_codes=[3, 4],
        restart_count=2,
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(twice)}) == [
        ("die", {"exitCode": "3"}), ("start", {}), ("die", {"exitCode": "4"}), ("start", {}),
    ]
    # ... and then it gave up: the last run's die ends the sequence
    gave_up = ContainerState(
        status=ContainerStatus.EXITED, started_at="t2", exit_code=5, die_count=3,
        recent_exit_codes=[3, 4, 5],
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(gave_up)}) == [
        ("die", {"exitCode": "3"}), ("start", {}), ("die", {"exitCode": "4"}), ("start", {}),
        ("die", {"exitCode": "5"}),
    ]


def test_created_started_and_stopped_between_two_polls() -> None:
    stopped = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=137, kill_count=2,
        recent_signals=[15, 9], stop_count=1, die_count=1, recent_exit_codes=[137],
    )
    assert [a for a, _ in _actions({}, {"c": _snap(stopped)})] == [
        "create", "start", "kill", "kill", "die", "stop",
    ]


def test_restarted_then_removed_between_two_polls() -> None:
    final = ContainerState(
        status=ContainerStatus.EXITED, started_at="t1", exit_code=137, kill_count=2,
        recent_signals=[15, 9], stop_count=2, die_count=2, recent_exit_codes=[143, 137],
        restart_requests=1,
    )
    assert [a for a, _ in _actions({"c": _snap(RUNNING)}, {}, {"c": final})] == [
        "kill", "kill", "die", "stop", "stop", "start", "restart", "die", "destroy",
    ]


def test_pause_and_unpause() -> None:
    paused = ContainerState(status=ContainerStatus.RUNNING, started_at="t0", paused=True)
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(paused)}) == [("pause", {})]
    assert _actions({"c": _snap(paused)}, {"c": _snap(RUNNING)}) == [("unpause", {})]


def test_exits_are_counted_by_the_store(tmp_path: Path) -> None:
    store = ContainerStore(Layout(tmp_path))
    record = store.create(ContainerSpec(name="web-1", image="busybox"), "sha256:" + "0" * 64)
    store.record_exit(record.id, 3, status=ContainerStatus.RESTARTING)
    store.record_restart(record.id)
    state = store.record_exit(record.id, 0, status=ContainerStatus.EXITED)
    assert (state.die_count, state.recent_exit_codes, state.exit_code, state.status) == (
        2, [3, 0], 0, ContainerStatus.EXITED)
    assert store.load_state(record.id).restart_requests == 1


def test_a_look_between_die_and_stop_of_a_restart_keeps_docker_s_order() -> None:
    """`restart`: kill, die, stop, start, restart. A poll that saw the run die before its stop
    was counted must still put the stop before the new start."""
    died = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=137, die_count=1,
        kill_count=1, recent_signals=[9], recent_exit_codes=[137],
    )
    again = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t1", exit_code=137, die_count=1,
        kill_count=1, recent_signals=[9], recent_exit_codes=[137], stop_count=1,
        restart_requests=1,
    )
    assert [a for a, _ in _actions({"c": _snap(died)}, {"c": _snap(again)})] == [
        "stop", "start", "restart",
    ]


def test_started_and_stopped_again_between_two_polls_of_an_exited_one() -> None:
    before = ContainerState(
        status=ContainerStatus.EXITED, started_at="t0", exit_code=0, die_count=1,
        recent_exit_codes=[0],
    )
    after = ContainerState(
        status=ContainerStatus.EXITED, started_at="t1", exit_code=137, die_count=2,
        kill_count=1, recent_signals=[9], recent_exit_codes=[0, 137], stop_count=1,
    )
    assert [a for a, _ in _actions({"c": _snap(before)}, {"c": _snap(after)})] == [
        "start", "kill", "die", "stop",
    ]


def test_an_oom_kill_of_pid_1_is_oom_then_die() -> None:
    oomed = ContainerState(status=ContainerStatus.EXITED, started_at="t0", exit_code=137,
                           die_count=1, recent_exit_codes=[137], oom_killed=True)
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(oomed)}) == [
        ("oom", {}), ("die", {"exitCode": "137"}),
    ]


def test_a_childs_oom_kill_is_oom_alone_and_reported_once() -> None:
    survived = ContainerState(status=ContainerStatus.RUNNING, started_at="t0", oom_killed=True)
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(survived)}) == [("oom", {})]
    assert _actions({"c": _snap(survived)}, {"c": _snap(survived)}) == []


def test_a_commits_freeze_is_pause_commit_unpause_though_over_before_the_look() -> None:
    """Docker pauses a running container while it commits it: pause, commit, unpause; the
    freeze is counted, as a poller sees the container unpaused on both sides."""
    made = {"comment": "", "imageID": "sha256:ab", "imageRef": ""}
    committed = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", commit_count=1, recent_commits=[made],
        pause_count=1, unpause_count=1,
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(committed)}) == [
        ("pause", {}), ("commit", made), ("unpause", {}),
    ]
    frozen = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", paused=True, pause_count=1,
    )
    assert _actions({"c": _snap(frozen)}, {"c": _snap(committed)}) == [
        ("commit", made), ("unpause", {}),
    ]
    twice = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", paused=True, pause_count=2,
        unpause_count=1,
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(twice)}) == [
        ("pause", {}), ("unpause", {}), ("pause", {}),
    ]


def test_commits_are_reported_with_their_image() -> None:
    made = {"comment": "c", "imageID": "sha256:1", "imageRef": "x:latest"}
    committed = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", commit_count=1, recent_commits=[made],
    )
    assert _actions({"c": _snap(RUNNING)}, {"c": _snap(committed)}) == [("commit", made)]
    later = [made, {**made, "imageID": "sha256:2"}, {**made, "imageID": "sha256:3"}]
    thrice = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", commit_count=3, recent_commits=later,
    )
    seen = _actions({"c": _snap(committed)}, {"c": _snap(thrice)})
    assert [(action, a["imageID"]) for action, a in seen] == [
        ("commit", "sha256:2"), ("commit", "sha256:3")]


def test_an_attached_up_is_create_attach_start() -> None:
    """docker compose's attached `up` attaches to a container before it starts it."""
    started = ContainerState(status=ContainerStatus.RUNNING, started_at="t0", attach_count=1)
    assert [a for a, _ in _actions({}, {"c": _snap(started)})] == ["create", "attach", "start"]


def test_an_attach_to_a_running_container_comes_after_what_else_happened() -> None:
    attached = ContainerState(
        status=ContainerStatus.RUNNING, started_at="t0", attach_count=2, pause_count=1,
        unpause_count=1,
    )
    assert [a for a, _ in _actions({"c": _snap(RUNNING)}, {"c": _snap(attached)})] == [
        "attach", "attach", "pause", "unpause",
    ]
    assert _actions({"c": _snap(attached)}, {"c": _snap(attached)}) == []  # counted once


def test_attaches_are_counted_by_the_store_with_their_times(tmp_path: Path) -> None:
    store = ContainerStore(Layout(tmp_path))
    record = store.create(ContainerSpec(name="web-1", image="busybox"), "sha256:" + "0" * 64)
    for _ in range(10):
        store.record_attach(record.id)
    state = store.load_state(record.id)
    assert state.attach_count == 10
    assert len(state.recent_attaches) == 8 and state.recent_attaches == sorted(
        state.recent_attaches)
