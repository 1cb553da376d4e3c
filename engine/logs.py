"""Container logs in Docker's json-file shape: one JSON object per line with stream and time."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class LogLine:
    stream: str
    time: str
    text: str


def _timestamp() -> str:
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


class LogWriter:
    """Splits raw output into lines per stream; a partial line waits for its newline."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._partial: dict[str, bytes] = {}

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
        out = "".join(
            json.dumps({"log": line.decode(errors="replace"), "stream": stream, "time": stamp})
            + "\n"
            for line in lines
        )
        os.write(self._fd, out.encode())

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


def read_logs(path: Path, tail: int | None = None) -> list[LogLine]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        return []
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return [parsed for raw in lines if (parsed := _parse(raw)) is not None]


def follow_logs(
    path: Path, still_running: Callable[[], bool], tail: int | None = None, poll: float = 0.05
) -> Iterator[LogLine]:
    """Yield existing lines, then new ones as they are written, until the container stops."""
    yield from read_logs(path, tail)
    try:
        offset = path.stat().st_size
    except FileNotFoundError:
        offset = 0
    partial = ""
    while True:
        running = still_running()
        try:
            with open(path, encoding="utf-8") as handle:
                handle.seek(offset)
                chunk = handle.read()
                offset = handle.tell()
        except FileNotFoundError:
            return
        partial += chunk
        *complete, partial = partial.split("\n")
        for raw in complete:
            parsed = _parse(raw)
            if parsed is not None:
                yield parsed
        if not running and not chunk:
            return
        if not chunk:
            time.sleep(poll)
