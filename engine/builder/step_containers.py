"""The containers a build's RUN steps run in, and the sweep of those a killed build left.

A RUN step runs in an ordinary engine container that the builder removes when the step ends —
on failure, Ctrl-C and SIGTERM too. A builder killed outright (SIGKILL, the OOM killer)
cannot: the container record and its writable layer stay under `<data root>/containers`,
invisible to `ps -a` (no project owns them) and otherwise removed by nothing. Each step
container carries its builder's owner tag (pid and start time), so the next build on the data
root and `image prune` remove those whose builder is gone, and leave a live (concurrent)
build's step alone. BuildKit removes its step containers likewise.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from engine.errors import EngineError
from engine.processes import owner_gone, owner_tag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.api import ContainerInfo, Engine

BUILD_LABEL = "com.pycompose.build"
OWNER_LABEL = "com.pycompose.build.owner"
# A step container made before owner tags existed: garbage once its command has ended and it
# is this old (a live build commits and removes its step within moments of the end).
UNTAGGED_AGE = 3600.0
_CREATED = "%Y-%m-%dT%H:%M:%S.%fZ"  # engine.containers.now_rfc3339


def step_labels() -> dict[str, str]:
    """The labels of a step container this process makes."""
    return {BUILD_LABEL: "true", OWNER_LABEL: owner_tag()}


def is_orphan(info: ContainerInfo, now: float) -> bool:
    """Whether the build that made this step container is gone (`now`: epoch seconds)."""
    gone = owner_gone(info.labels.get(OWNER_LABEL, ""))
    if gone is not None:
        return gone
    return not info.status.active and now - _created(info.record.created) > UNTAGGED_AGE


def sweep_orphan_steps(engine: Engine) -> list[str]:
    """Remove the step containers of builds that are gone (stopping any still running); the
    ids removed. Best effort: one that cannot be removed now is tried again next time."""
    now = time.time()
    removed = []
    for info in engine.list_containers({BUILD_LABEL: "true"}):
        if not is_orphan(info, now):
            continue
        with contextlib.suppress(EngineError, OSError):
            engine.remove_container(info.id, force=True)
            removed.append(info.id)
    return removed


def _created(value: str) -> float:
    try:
        return datetime.strptime(value, _CREATED).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0  # unreadable: as old as can be
