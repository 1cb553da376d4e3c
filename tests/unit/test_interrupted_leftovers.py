"""What a killed pull or build leaves goes at the next one: partial blobs of writers that are
gone, and RUN-step containers of builders that are gone — while those of a live (concurrent)
pull or build stay. No root needed: plain files and a stand-in engine."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.builder.step_containers import (
    BUILD_LABEL,
    OWNER_LABEL,
    UNTAGGED_AGE,
    is_orphan,
    step_labels,
    sweep_orphan_steps,
)
from engine.containers import now_rfc3339
from engine.content import UNTAGGED_INGEST_AGE, ContentStore
from engine.processes import owner_gone, owner_tag


def _dead_tag() -> str:
    """The owner tag of a process that has ended."""
    child = subprocess.Popen(["true"])
    tag = f"{child.pid}.{_start_of(child.pid)}"
    child.wait()
    return tag


def _start_of(pid: int) -> int:
    from engine.processes import start_time

    started = start_time(pid)
    assert started is not None
    return started


def test_an_owner_tag_names_a_live_process_until_it_ends() -> None:
    assert owner_gone(owner_tag()) is False
    assert owner_gone(_dead_tag()) is True
    assert owner_gone(f"{os.getpid()}.1") is True  # this pid, another process's start time
    assert owner_gone("abc") is None and owner_gone("12") is None


def test_partial_blobs_of_gone_writers_are_swept_and_a_live_writers_stays(
    tmp_path: Path,
) -> None:
    store = ContentStore(tmp_path / "content")
    store.put_bytes(b"kept blob")  # committed content is never an ingest's business
    ingest = store.ingest
    dead = ingest / f"blob-{_dead_tag()}-x1.tmp"
    dead.write_bytes(b"partial layer")
    untagged_old = ingest / "blob-abc123.tmp"  # an older release's name
    untagged_old.write_bytes(b"old")
    old = time.time() - UNTAGGED_INGEST_AGE - 60
    os.utime(untagged_old, (old, old))
    untagged_young = ingest / "blob-def456.tmp"  # may be a running older pull's
    untagged_young.write_bytes(b"young")
    with store.writer() as live:  # a concurrent pull in this very process, still writing
        live.write(b"in progress")
        assert store.sweep_ingest() == (2, len(b"partial layer") + len(b"old"))
        assert sorted(p.name for p in ingest.iterdir()) == sorted(
            [live.temp_path.name, untagged_young.name]
        )
        assert live.temp_path.name.startswith(f"blob-{owner_tag()}-")
    assert len(store.digests()) == 1


def _step(labels: dict[str, str], *, active: bool, created: str | None = None) -> Any:
    record = SimpleNamespace(id=f"id-{len(labels)}-{active}-{created}",
                             created=created or now_rfc3339())
    return SimpleNamespace(id=record.id, labels={BUILD_LABEL: "true", **labels}, record=record,
                           status=SimpleNamespace(active=active))


def test_step_containers_of_gone_builders_are_orphans_and_a_live_builds_is_not() -> None:
    now = time.time()
    long_ago = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z",
                             time.gmtime(now - UNTAGGED_AGE - 60))
    assert is_orphan(_step({OWNER_LABEL: _dead_tag()}, active=True), now)
    assert not is_orphan(_step(step_labels(), active=True), now)  # a concurrent build's step
    assert not is_orphan(_step(step_labels(), active=False, created=long_ago), now)
    # made before owner tags: only once ended and old
    assert is_orphan(_step({}, active=False, created=long_ago), now)
    assert not is_orphan(_step({}, active=False), now)
    assert not is_orphan(_step({}, active=True, created=long_ago), now)


def test_the_sweep_force_removes_only_orphaned_step_containers() -> None:
    orphan = _step({OWNER_LABEL: _dead_tag()}, active=True)
    live = _step(step_labels(), active=True)
    removed: list[tuple[str, bool]] = []

    class Engine:
        def list_containers(self, labels: dict[str, str]) -> list[Any]:
            assert labels == {BUILD_LABEL: "true"}
            return [orphan, live]

        def remove_container(self, container_id: str, force: bool = False) -> None:
            removed.append((container_id, force))

    assert sweep_orphan_steps(Engine()) == [orphan.id]  # type: ignore[arg-type]
    assert removed == [(orphan.id, True)]
