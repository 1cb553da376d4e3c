"""Leftovers of killed clients, on a real engine: a build's RUN-step container whose builder
is gone is swept (stopped if still running), a live build's is not."""

from __future__ import annotations

import subprocess
import uuid

from engine.api import Engine
from engine.builder.step_containers import BUILD_LABEL, OWNER_LABEL
from engine.processes import start_time
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
