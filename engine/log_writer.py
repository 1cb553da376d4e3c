"""The supervisor's side of a json-file log: raw output in, one JSON record per line out."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

RECORD_BYTES = 16 * 1024
"""Docker's json-file logger cuts a longer line (or output with no newline) into partial
records of this size: neither the supervisor's memory nor a record grows with a line."""

PARTIAL_DELAY = 0.1
"""Output with no newline (a progress bar: `\\r`, dots) is logged as a partial record once it
has waited this long, so `logs` shows it without waiting for a newline that may never come."""


def _timestamp() -> str:
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def _cut(data: bytes | bytearray, start: int) -> int:
    """Where a record starting at `start` ends: RECORD_BYTES on, moved back off a UTF-8
    continuation byte so a character is not split into two replacement characters."""
    cut = start + RECORD_BYTES
    if cut < len(data):
        floor = cut - 3
        while cut > floor and data[cut] & 0xC0 == 0x80:
            cut -= 1
    return cut


def _line_records(block: bytes) -> list[bytes]:
    """`block` ends with a newline: one record per line, a long line in partial records."""
    records: list[bytes] = []
    for line in block.split(b"\n")[:-1]:
        start = 0
        while len(line) - start > RECORD_BYTES:
            cut = _cut(line, start)
            records.append(line[start:cut])
            start = cut
        records.append(line[start:] + b"\n")
    return records


def _full_records(held: bytearray) -> list[bytes]:
    """Take whole RECORD_BYTES partial records off the front of an unterminated line."""
    records: list[bytes] = []
    while len(held) >= RECORD_BYTES:
        cut = _cut(held, 0)
        records.append(bytes(held[:cut]))
        del held[:cut]
    return records


class LogWriter:
    """Splits raw output into records per stream, as Docker's json-file does: a line per
    record; an unterminated line waits for its newline at most RECORD_BYTES or PARTIAL_DELAY,
    then goes out as a partial record (no trailing newline; readers join them). Each byte is
    copied a bounded number of times: a stream with no newline costs O(n), not O(n²).

    With `max_size`, the file is rotated before it would grow past it: <log> becomes <log>.1
    (… up to <log>.<max_file - 1>, the oldest is dropped); with max_file 1 it is truncated."""

    def __init__(self, path: Path, max_size: int | None = None, max_file: int = 1) -> None:
        self._path = path
        self._max_size = max_size
        self._max_file = max(max_file, 1)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._size = os.fstat(self._fd).st_size
        self._held: dict[str, bytearray] = {}
        self._held_since: dict[str, float] = {}

    def _rotate(self) -> None:
        os.close(self._fd)  # first: a reader that sees the name move knows the file is complete
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
        held = self._held.setdefault(stream, bytearray())
        records: list[bytes] = []
        end = data.rfind(b"\n") + 1
        if end:
            records = _line_records(bytes(held) + data[:end] if held else data[:end])
            held.clear()
            data = data[end:]
        held += data
        records += _full_records(held)
        if not held:
            self._held_since.pop(stream, None)
        elif records or stream not in self._held_since:
            self._held_since[stream] = time.monotonic()
        if records:
            self._write(stream, records)

    def next_due(self) -> float | None:
        """When (time.monotonic) the oldest unterminated output is due as a partial record."""
        return min(self._held_since.values()) + PARTIAL_DELAY if self._held_since else None

    def flush_due(self, now: float) -> None:
        for stream, since in list(self._held_since.items()):
            if since + PARTIAL_DELAY <= now:
                self.flush(stream)

    def flush(self, stream: str) -> None:
        """The stream's unterminated output as a partial record (its end, or it waited)."""
        self._held_since.pop(stream, None)
        held = self._held.get(stream)
        if held:
            self._write(stream, [bytes(held)])
            held.clear()

    def _write(self, stream: str, lines: list[bytes]) -> None:
        stamp = _timestamp()
        pending: list[bytes] = []
        pending_size = 0
        for line in lines:
            record = (
                json.dumps({"log": line.decode(errors="replace"), "stream": stream, "time": stamp})
                + "\n"
            ).encode()
            size = self._size + pending_size
            if self._max_size and size and size + len(record) > self._max_size:
                os.write(self._fd, b"".join(pending))
                pending, pending_size = [], 0
                self._rotate()
            pending.append(record)
            pending_size += len(record)
        if pending:
            os.write(self._fd, b"".join(pending))
            self._size += pending_size

    def close(self) -> None:
        for stream in list(self._held):
            self.flush(stream)
        os.close(self._fd)
