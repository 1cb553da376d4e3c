"""Container cgroups nobody will remove: swept by the next `up` on the machine.

A supervisor removes its container's cgroup at the end of every run. One killed first (a
SIGTERM or SIGKILL to the whole process tree, an OOM of the supervisor itself) leaves the dir
behind once the container's processes are gone, and when the data root that knew the
container is gone too (a test's temporary root), no `down` will ever look for it. The dirs
are machine-wide under the engine's own parent, so any `up` can take them: a container cgroup
with no process in it is garbage unless a start is making it right now — the age bound keeps
away from those. `cgroup_parent` dirs are their owners' and never swept.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from engine.cgroups import CGROUP_ROOT, PARENT, V1_CONTROLLERS, CgroupVersion, detect_version

ORPHAN_AGE = 60.0  # seconds: a start creates, fills and joins its cgroup within this
_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


def sweep_orphan_cgroups(root: Path = CGROUP_ROOT, min_age: float = ORPHAN_AGE) -> list[str]:
    """Remove the engine's container cgroups that hold no process and are older than
    `min_age`; the container ids removed. Best effort: a dir the kernel refuses stays."""
    v2 = detect_version(root) is CgroupVersion.V2
    parents = [root / PARENT] if v2 else [root / c / PARENT for c in V1_CONTROLLERS]
    first = next((p for p in parents if p.is_dir()), None)
    if first is None:
        return []
    orphans = _empty_and_old(first, time.time() - min_age)
    for container_id in orphans:
        for parent in parents:
            with contextlib.suppress(OSError):
                os.rmdir(parent / container_id)
    return orphans


def _empty_and_old(parent: Path, born_before: float) -> list[str]:
    """The container cgroups of one controller with no process, made before `born_before`
    (every controller holds the same processes: one is enough to look at)."""
    found = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        if not (_CONTAINER_ID.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < born_before and not _has_processes(Path(entry.path)):
                found.append(entry.name)
    return sorted(found)


def _has_processes(path: Path) -> bool:
    with open(path / "cgroup.procs", encoding="ascii") as handle:
        return bool(handle.read().strip())
