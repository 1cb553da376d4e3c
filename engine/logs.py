"""Container logs in Docker's json-file shape: one JSON object per line with stream and time."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class LogLine:
    """One line of a container's json-file log read back for `logs`: the stream it was written
    to and Docker's nanosecond timestamp, which `--since` and `--timestamps` need."""

    stream: str
    time: str
    text: str


def _timestamp() -> str:
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def rotated_paths(path: Path, max_file: int = 1) -> list[Path]:
    """Oldest first: <log>.N … <log>.1, then <log> (Docker json-file's rotation naming)."""
    olds = [path.with_name(f"{path.name}.{n}") for n in range(max(max_file, 1) - 1, 0, -1)]
    if max_file <= 1:  # the reader does not know max_file: take whatever rotations exist
        olds = sorted(
            path.parent.glob(f"{path.name}.*"),
            key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0,
        )
    return [p for p in olds if p.exists()] + [path]


class LogWriter:
    """Splits raw output into lines per stream; a partial line waits for its newline.

    With `max_size`, the file is rotated before it would grow past it: <log> becomes <log>.1
    (… up to <log>.<max_file - 1>, the oldest is dropped); with max_file 1 it is truncated."""

    def __init__(self, path: Path, max_size: int | None = None, max_file: int = 1) -> None:
        self._path = path
        self._max_size = max_size
        self._max_file = max(max_file, 1)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._size = os.fstat(self._fd).st_size
        self._partial: dict[str, bytes] = {}

    def _rotate(self) -> None:
        os.close(self._fd)
        if self._max_file > 1:
            for index in range(self._max_file - 1, 0, -1):
                src = self._path if index == 1 else self._path.with_name(
                    f"{self._path.name}.{index - 1}"
                )
                if src.exists():
                    os.replace(src, self._path.with_name(f"{self._path.name}.{index}"))
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC
        self._fd = os.open(self._path, flags, 0o640)
        self._size = 0

    def feed(self, stream: str, data: bytes) -> None:
        buffer = self._partial.get(stream, b"") + data
        *lines, rest = buffer.split(b"\n")
        self._partial[stream] = rest
        if lines:
            self._write(stream, [line + b"\n" for line in lines])

    def flush(self, stream: str) -> None:
        rest = self._partial.pop(stream, b"")
        if rest:
            self._write(stream, [rest])

    def _write(self, stream: str, lines: list[bytes]) -> None:
        stamp = _timestamp()
        pending = b""
        for line in lines:
            record = (
                json.dumps({"log": line.decode(errors="replace"), "stream": stream, "time": stamp})
                + "\n"
            ).encode()
            size = self._size + len(pending)
            if self._max_size and size and size + len(record) > self._max_size:
                if pending:
                    os.write(self._fd, pending)
                    pending = b""
                self._rotate()
            pending += record
        if pending:
            os.write(self._fd, pending)
            self._size += len(pending)

    def close(self) -> None:
        for stream in list(self._partial):
            self.flush(stream)
        os.close(self._fd)


def _parse(raw: str) -> LogLine | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    return LogLine(stream=obj["stream"], time=obj["time"], text=obj["log"])


_DURATION = r"(\d+(?:\.\d+)?)(ms|s|m|h)"  # compiled on first use (re caches it)
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def normalize_since(value: str, now: float | None = None) -> str:
    """Docker's `--since`: RFC 3339 (with or without fraction/zone), Unix seconds, or a duration
    before now (`10m`, `1h30m`), as the log's own nanosecond timestamp format, so lines compare
    as strings. Raises ValueError when it is none of those."""
    text = value.strip()
    current = time.time() if now is None else now
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    elif (parts := re.findall(_DURATION, text)) and "".join(a + u for a, u in parts) == text:
        seconds = current - sum(float(a) * _UNIT[u] for a, u in parts)
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


def read_logs(path: Path, tail: int | None = None, since: str | None = None) -> list[LogLine]:
    """All lines (rotated files first), those at or after `since` (RFC 3339), the last `tail`."""
    lines: list[str] = []
    for part in rotated_paths(path):
        try:
            with open(part, encoding="utf-8") as handle:
                lines.extend(handle.readlines())
        except FileNotFoundError:
            continue
    parsed = [p for raw in lines if (p := _parse(raw)) is not None]
    if since is not None:
        parsed = [p for p in parsed if p.time >= since]
    if tail is not None:
        parsed = parsed[-tail:] if tail > 0 else []
    return parsed


def follow_logs(
    path: Path,
    still_running: Callable[[], bool],
    tail: int | None = None,
    poll: float = 0.05,
    since: str | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> Iterator[LogLine]:
    """Yield existing lines, then new ones as they are written, until the container stops.

    The file keeps growing while we read it: the tail starts at the size seen *before* the
    history was read, and lines the history already gave (same or older time stamp) are
    skipped, so nothing written in between is lost or shown twice. A log not created yet
    (the supervisor opens it just after reporting the start) is waited for. `pause(poll)`
    waits between reads: a caller that can tell when the container stops (a pidfd of its
    supervisor) passes a wait that returns early then."""
    try:
        offset = path.stat().st_size
    except FileNotFoundError:
        offset = 0
    last_seen = ""
    for line in read_logs(path, tail, since):
        last_seen = line.time
        yield line
    partial = ""
    while True:
        running = still_running()
        try:
            with open(path, encoding="utf-8") as handle:
                if os.fstat(handle.fileno()).st_size < offset:
                    offset = 0  # rotated: a new, shorter file took the name
                handle.seek(offset)
                chunk = handle.read()
                offset = handle.tell()
        except FileNotFoundError:
            if not running:
                return
            pause(poll)
            continue
        partial += chunk
        *complete, partial = partial.split("\n")
        for raw in complete:
            parsed = _parse(raw)
            if parsed is not None and parsed.time > last_seen:
                yield parsed
        if not running and not chunk:
            return
        if not chunk:
            pause(poll)
