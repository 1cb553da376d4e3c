"""The engine's parent cgroup (`<controller>/pycompose`) exists only while a container needs it:
removing the last container's cgroup removes it, so the machine is left as found, and creators
racing that removal still succeed. Runs on the real cgroup hierarchy under a parent of its own
(other tests' containers share the engine's)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from engine.cgroups import Cgroup, Limits, detect_version


def _cgroup(parent: str, name: str) -> Cgroup:
    return Cgroup(name, detect_version(), parent=parent)


def _parents(cgroup: Cgroup) -> list[Path]:
    return [path.parent for path in cgroup.dirs()]


def test_last_container_cgroup_takes_the_empty_parent_with_it() -> None:
    parent = f"pctest-{uuid.uuid4().hex[:10]}"
    first, second = _cgroup(parent, "c1"), _cgroup(parent, "c2")
    try:
        first.create(Limits(pids=64))
        second.create(Limits(pids=64))
        first.remove()
        assert all(p.is_dir() for p in _parents(second))  # still used by c2
        assert not any(d.exists() for d in first.dirs())
        second.remove()
        assert [p for p in _parents(second) if p.exists()] == []
    finally:
        first.remove()
        second.remove()


def test_creates_racing_the_parent_removal_all_succeed() -> None:
    parent = f"pctest-{uuid.uuid4().hex[:10]}"
    failures: list[BaseException] = []

    def churn(worker: int) -> None:
        for round_ in range(25):  # bounded
            cgroup = _cgroup(parent, f"w{worker}-{round_}")
            try:
                cgroup.create(Limits(pids=64))
                assert all(d.is_dir() for d in cgroup.dirs())
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)
                return
            finally:
                cgroup.remove()

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert [p for p in _parents(_cgroup(parent, "x")) if p.exists()] == []
