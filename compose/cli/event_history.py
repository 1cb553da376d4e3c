"""The past of `events --since/--until`: what the containers' records still show.

Docker's daemon replays past events from the last few hundred it keeps in memory. A
daemonless engine keeps no such buffer, so the past is rebuilt from each container's record:
its `create`, the start of its last run, the end of that run (`die` with its exit code, then
`stop` when a stop ended it), and its last few `attach`es (their times are kept). Earlier
runs, health changes, signals and containers already removed are not recorded, so they are
not replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from compose.human_time import parse_rfc3339

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.api import ContainerInfo


@dataclass(frozen=True)
class PastEvent:
    """One event of a container's recorded past, at the time it happened."""

    time: datetime
    action: str
    info: ContainerInfo
    attributes: dict[str, str] = field(default_factory=dict)


def _of_container(info: ContainerInfo) -> list[PastEvent]:
    state = info.state
    out = [PastEvent(parse_rfc3339(info.record.created), "create", info)]
    started = parse_rfc3339(state.started_at) if state.started_at else None
    if started is not None:
        out.append(PastEvent(started, "start", info))
    finished = parse_rfc3339(state.finished_at) if state.finished_at else None
    ended = finished is not None and (started is None or finished >= started)
    if ended and finished is not None and not info.status.active:
        code = {} if state.exit_code is None else {"exitCode": str(state.exit_code)}
        out.append(PastEvent(finished, "die", info, code))
        if state.stop_requested and state.stop_count:  # a kill asks to stop too, but is none
            out.append(PastEvent(finished, "stop", info))
    # The last few attaches, with their times (an attached `up` attaches just before start).
    out += [PastEvent(parse_rfc3339(when), "attach", info)
            for when in getattr(state, "recent_attaches", ())]
    return out


def recorded_events(
    infos: Iterable[ContainerInfo], since: datetime | None, until: datetime | None
) -> list[PastEvent]:
    """The recorded events of the containers at or after `since` and not after `until`, in
    the order they happened (a container's own in Docker's order when times are equal)."""
    found = [event for info in infos for event in _of_container(info)]
    kept = [
        e for e in found
        if (since is None or e.time >= since) and (until is None or e.time <= until)
    ]
    return sorted(kept, key=lambda e: e.time)  # stable: equal times keep Docker's order
