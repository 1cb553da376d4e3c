"""The run of a container that `attach` joined, and its end.

Docker's attach is to one run: the daemon closes the streams when that run ends, also when a
restart policy (or `restart`) starts the next one at once, and the CLI returns that run's exit
code. Our attach follows the container's log, which goes on across restarts; so the runs ended
since the attach are counted by the engine's record (its `die` count, with the last exit
codes) and the attach ends at the first."""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from engine.api import ContainerInfo, Engine


@dataclass(frozen=True)
class RunEnd:
    """How the joined run ended: its exit code and when (RFC 3339; None when unknown)."""

    exit_code: int
    finished_at: str | None


def ended_run(before: ContainerInfo, now: object) -> RunEnd | None:
    """The end of the run going on in `before`, as the container's state `now` (a
    ContainerState) tells it; None while it goes on."""
    joined = before.state.die_count
    ended = getattr(now, "die_count", joined) - joined
    if ended <= 0:
        status = getattr(now, "status", None)
        if status is None or status.active:
            return None
        # Over, uncounted (its supervisor was killed): the last exit code known.
        return RunEnd(getattr(now, "exit_code", None) or 0, getattr(now, "finished_at", None))
    codes: list[int] = list(getattr(now, "recent_exit_codes", []))
    code = codes[-ended] if ended <= len(codes) else getattr(now, "exit_code", None) or 0
    # A later run's end moved finished_at on: the first one's time is not known then.
    finished = getattr(now, "finished_at", None) if ended == 1 else None
    return RunEnd(code, finished)


def look(engine: Engine, before: ContainerInfo) -> RunEnd | None:
    """One look at the container: the end of the joined run, if it ended. A container removed
    meanwhile (`down`) is looked up in what the engine keeps of removed ones."""
    from engine.api import EngineError

    try:
        now: object = engine.inspect(before.id).state
    except EngineError:
        now = engine.removed_container_state(before.id)
        if now is None:  # gone, and its last state too: its run is over all the same
            return RunEnd(before.state.exit_code or 0, None)
    return ended_run(before, now)
