"""The next `up` removes a container cgroup a killed supervisor left, on the real cgroupfs:
an old one without processes goes from every controller, a running container's stays."""

from __future__ import annotations

import os
import secrets
import time

from engine.api import Engine
from engine.cgroup_sweep import ORPHAN_AGE, sweep_orphan_cgroups
from engine.cgroups import Limits, container_cgroup
from tests.integration.runtime_helpers import sh


def test_an_old_empty_container_cgroup_is_swept_and_a_running_ones_is_not(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    running = engine.create_container(sh("sweepkeep", "sleep 60"))
    engine.start_container(running.id)
    orphan = container_cgroup(secrets.token_hex(32))
    orphan.create(Limits())  # as a start makes it; its supervisor then killed before removing
    try:
        assert sweep_orphan_cgroups() == [] or orphan.name not in sweep_orphan_cgroups()
        assert all(path.is_dir() for path in orphan.dirs())  # young: a start may be making it
        old = time.time() - ORPHAN_AGE - 5
        for path in orphan.dirs():
            os.utime(path, (old, old))
        assert orphan.name in sweep_orphan_cgroups()
        assert not any(path.exists() for path in orphan.dirs())
        kept = container_cgroup(running.id)
        assert all(path.is_dir() for path in kept.dirs())
    finally:
        orphan.remove()
        engine.remove_container(running.id, force=True)
