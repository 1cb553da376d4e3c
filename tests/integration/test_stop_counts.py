"""What a stop records for `events`, on the real engine: the stop mark and the signal are one
state write, a paused container is thawed before its signal is counted and sent, and a stop
followed by a removal is counted in the state kept after the removal."""

from __future__ import annotations

import signal
import uuid

from engine.api import ContainerSpec, ContainerStatus, Engine


def _sleeper(engine: Engine, **extra: object) -> str:
    info = engine.create_container(
        ContainerSpec(
            name=f"stopcount-{uuid.uuid4().hex[:8]}", image="busybox",
            command=("sleep", "3600"), init=True, **extra,  # type: ignore[arg-type]
        )
    )
    return engine.start_container(info.id).id


def test_stop_of_a_paused_container_thaws_and_signals_it(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    cid = _sleeper(engine)
    engine.pause_container(cid)
    info = engine.stop_container(cid, timeout=10)
    assert info.status is ContainerStatus.EXITED and not info.state.paused
    # tini forwards SIGTERM: one signal, counted once, and the stop counted after it
    assert info.state.recent_signals == [signal.SIGTERM]
    assert (info.state.kill_count, info.state.stop_count) == (1, 1)
    engine.remove_container(cid)


def test_stop_counted_at_removal_lands_in_the_kept_state(engine_with_busybox: Engine) -> None:
    """`down`'s path: stop without counting, then remove counting the stop."""
    engine = engine_with_busybox
    cid = _sleeper(engine)
    [info] = engine.stop_containers([cid], timeout=10, count_stops=False)
    assert info.status is ContainerStatus.EXITED
    assert (info.state.kill_count, info.state.stop_count) == (1, 0)
    engine.remove_container(cid, force=True, count_stop=True)
    assert engine.find_container(cid) is None
    final = engine.removed_container_state(cid)
    assert final is not None
    assert (final.kill_count, final.die_count, final.stop_count) == (1, 1, 1)
    assert final.status is ContainerStatus.EXITED


def test_stop_with_remove_leaves_the_removal_to_the_supervisor(
    engine_with_busybox: Engine,
) -> None:
    """`down`'s path now: the supervisor removes its own record once the container is down,
    with the stop counted in the state kept for `events`; the caller's removal is a no-op."""
    engine = engine_with_busybox
    cid = _sleeper(engine)
    engine.stop_containers([cid], timeout=10, count_stops=False, remove=True)
    assert engine.find_container(cid) is None  # gone before stop_containers returned
    final = engine.removed_container_state(cid)
    assert final is not None
    assert (final.kill_count, final.die_count, final.stop_count) == (1, 1, 1)
    assert final.status is ContainerStatus.EXITED
    engine.remove_container(cid, force=True, count_stop=True, removed_by_supervisor=True)


def test_a_later_start_forgets_an_old_remove_request(engine_with_busybox: Engine) -> None:
    """A removal asked of a run that ended otherwise must not remove the next run."""
    engine = engine_with_busybox
    cid = _sleeper(engine)
    engine.containers.update_state(cid, remove_requested=True)
    engine.stop_container(cid, timeout=10)  # a plain stop asks for no removal
    assert engine.find_container(cid) is not None
    engine.start_container(cid)
    assert engine.inspect(cid).state.remove_requested is False
    engine.remove_container(cid, force=True)


def test_stop_with_remove_prunes_kept_states_older_than_a_minute(
    engine_with_busybox: Engine,
) -> None:
    """The kept states of earlier removals are pruned during `down`'s stop (while the
    supervisors stop), the fresh one of this stop kept."""
    import os

    from engine.containers import REMOVED_DIR, REMOVED_KEEP_SECONDS

    engine = engine_with_busybox
    removed = engine.layout.root / REMOVED_DIR
    removed.mkdir(exist_ok=True)
    stale = removed / f"{uuid.uuid4().hex}{uuid.uuid4().hex}.json"
    stale.write_text("{}")
    old = stale.stat().st_mtime - REMOVED_KEEP_SECONDS - 5
    os.utime(stale, (old, old))
    engine.containers._pruned_removed = 0.0  # no prune of this store yet
    cid = _sleeper(engine)
    engine.stop_containers([cid], timeout=10, count_stops=False, remove=True)
    assert not stale.exists()
    assert engine.removed_container_state(cid) is not None
    engine.remove_container(cid, force=True, count_stop=True, removed_by_supervisor=True)
