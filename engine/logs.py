"""Container logs in Docker's json-file shape: one JSON object per line with stream and time."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.log_files import LogFiles


@dataclass(frozen=True)
class LogLine:
    """One line of a container's json-file log read back for `logs`: the stream it was written
    to and Docker's nanosecond timestamp, which `--since` and `--timestamps` need."""

    stream: str
    time: str
    text: str


def _parse(raw: bytes) -> LogLine | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    return LogLine(stream=obj["stream"], time=obj["time"], text=obj["log"])


_DURATION = r"(\d+(?:\.\d+)?)(ms|s|m|h)"  # compiled on first use (re caches it)
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def normalize_since(value: str, now: float | None = None) -> str:
    """Docker's `--since`: RFC 3339 (with or without fraction/zone), Unix seconds, or a duration
    before now (`10m`, `1h30m`; a negative one, `-5s`, is after now, as Go's ParseDuration
    makes it), as the log's own nanosecond timestamp format, so lines compare as strings.
    Raises ValueError when it is none of those."""
    text = value.strip()
    current = time.time() if now is None else now
    sign = -1.0 if text.startswith("-") else 1.0
    span = text[1:] if text[:1] in ("+", "-") else text
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    elif (parts := re.findall(_DURATION, span)) and "".join(a + u for a, u in parts) == span:
        seconds = current - sign * sum(float(a) * _UNIT[u] for a, u in parts)
    else:
        stamp = text.replace("Z", "+00:00")
        stamp = re.sub(r"\.(\d{6})\d*", r".\1", stamp)
        parsed = datetime.fromisoformat(stamp)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
    whole = int(seconds)
    nanos = round((seconds - whole) * 1e9)
    base = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


def _since(lines: Iterator[LogLine], since: str | None) -> Iterator[LogLine]:
    return lines if since is None else (line for line in lines if line.time >= since)


def _parsed(records: Iterator[bytes]) -> Iterator[LogLine]:
    return (line for raw in records if (line := _parse(raw)) is not None)


def _history(files: LogFiles, tail: int | None, since: str | None) -> Iterator[LogLine]:
    """The lines written so far; all of them are read, even for a tail of 0: a follower goes
    on after them."""
    lines = _since(_parsed(files.records()), since)
    if tail is None:
        return lines
    return iter(deque(lines, maxlen=max(tail, 0)))


def read_logs(path: Path, tail: int | None = None, since: str | None = None) -> list[LogLine]:
    """All lines (rotated files first), those at or after `since` (RFC 3339), the last `tail`."""
    files = LogFiles(path)
    try:
        return list(_history(files, tail, since))
    finally:
        files.close()


def follow_logs(
    path: Path,
    still_running: Callable[[], bool],
    tail: int | None = None,
    poll: float = 0.05,
    since: str | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> Iterator[LogLine]:
    """Yield existing lines, then new ones as they are written, until the container stops.

    The history and what follows come from the same open files (engine.log_files), so
    nothing written meanwhile is lost or shown twice, and rotations are followed. A log not
    created yet (the supervisor opens it just after reporting the start) is waited for.
    `pause(poll)` waits between reads: a caller that can tell when the container stops (a
    pidfd of its supervisor) passes a wait that returns early then.

    With a `tail`, the history is read here, not at the first `next()`: "the last N lines"
    and "from now on" (`tail=0`, `attach`) mean the moment of the call, so a line written
    between it and the caller's first read (`attach` feeding stdin meanwhile) is followed,
    not counted as history and dropped."""
    files = LogFiles(path)
    try:
        history = None if tail is None else list(_history(files, tail, since))
    except BaseException:
        files.close()
        raise
    return _following(files, history, still_running, poll, since, pause)


def _following(
    files: LogFiles, history: list[LogLine] | None, still_running: Callable[[], bool],
    poll: float, since: str | None, pause: Callable[[float], None],
) -> Iterator[LogLine]:
    try:
        yield from _history(files, None, since) if history is None else history
        while True:
            running = still_running()
            got = False
            for line in _since(_parsed(files.records()), since):
                got = True
                yield line
            if not got:
                if not running:
                    return
                pause(poll)
    finally:
        files.close()
