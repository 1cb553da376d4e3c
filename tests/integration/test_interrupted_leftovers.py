"""Leftovers of killed clients, on a real engine: a build's RUN-step container whose builder
is gone is swept (stopped if still running), a live build's is not; an AutoRemove (`run --rm`)
container removed by its supervisor takes its anonymous volumes with it, and a named volume or
one another container mounts stays."""

from __future__ import annotations

import subprocess
import time
import uuid

from engine.api import ANONYMOUS_VOLUME_LABEL, Engine, MountKind, MountSpec
from engine.builder.step_containers import BUILD_LABEL, OWNER_LABEL
from engine.processes import start_time
from engine.volumes import anonymous_volume_name
from tests.integration.runtime_helpers import sh


def _tag(pid: int) -> str:
    return f"{pid}.{start_time(pid)}"


def test_a_killed_builders_step_container_is_swept_and_a_live_builders_is_not(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    killed = subprocess.Popen(["sleep", "60"])  # stands for a build killed mid-step
    live = subprocess.Popen(["sleep", "60"])  # a concurrent build, still running its step
    made = []
    try:
        for builder in (killed, live):
            info = engine.create_container(sh(
                f"pycompose-build-{uuid.uuid4().hex[:12]}", "sleep 60",
                labels={BUILD_LABEL: "true", OWNER_LABEL: _tag(builder.pid)},
            ))
            engine.start_container(info.id)
            made.append(info.id)
        orphan, kept = made
        killed.kill()
        killed.wait()
        assert engine.sweep_build_orphans() == [orphan]
        assert engine.find_container(orphan) is None
        assert engine.inspect(kept).status.active
        assert engine.sweep_build_orphans() == []
    finally:
        for process in (killed, live):
            process.kill()
            process.wait()
        for container_id in made:
            if engine.find_container(container_id) is not None:
                engine.remove_container(container_id, force=True)


def test_an_auto_removed_container_takes_its_anonymous_volumes_along(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    suffix = uuid.uuid4().hex[:8]
    labelled = f"anon{suffix}"  # named at random by compose, labelled anonymous
    shared = f"shared{suffix}"  # anonymous, but another container mounts it too
    named = f"named{suffix}"
    engine.ensure_volume(labelled, {ANONYMOUS_VOLUME_LABEL: "True"})
    engine.ensure_volume(shared, {ANONYMOUS_VOLUME_LABEL: "True"})
    engine.ensure_volume(named)
    holder = engine.create_container(sh(
        f"holder{suffix}", "true", mounts=(MountSpec(MountKind.VOLUME, "/s", shared),),
    ))
    oneoff = engine.create_container(sh(
        f"oneoff{suffix}", "sleep 0.2", auto_remove=True,
        mounts=(
            MountSpec(MountKind.VOLUME, "/engine-anon"),
            MountSpec(MountKind.VOLUME, "/a", labelled),
            MountSpec(MountKind.VOLUME, "/s", shared),
            MountSpec(MountKind.VOLUME, "/n", named),
        ),
    ))
    try:
        engine.start_container(oneoff.id)
        engine_anon = anonymous_volume_name(oneoff.id, "/engine-anon")
        assert engine.volumes.find(engine_anon) is not None
        deadline = time.monotonic() + 20
        while engine.find_container(oneoff.id) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.find_container(oneoff.id) is None, "not auto-removed"
        deadline = time.monotonic() + 5
        while engine.volumes.find(labelled) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {v.name for v in engine.volumes.list()}
        assert engine_anon not in left and labelled not in left
        assert {shared, named} <= left
    finally:
        for info in (oneoff, holder):
            if engine.find_container(info.id) is not None:
                engine.remove_container(info.id, force=True)
        for name in (labelled, shared, named):
            if engine.volumes.find(name) is not None:
                engine.remove_volume(name)
