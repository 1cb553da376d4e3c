"""Interleave several containers' log streams with docker compose's `name  | ` prefixes."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterator

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from typing import Any

    from engine.api import LogLine

COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
_DONE = object()
_ADDED = object()  # a stream joins (LogPrinter.add): counted before its first line


def _pump(name: str, lines: Iterator[LogLine], out: queue.Queue[object]) -> None:
    try:
        for line in lines:
            out.put((name, line))
    finally:
        out.put((name, _DONE))


class LogPrinter:
    """Interleaves the streams until every one ends. `run` may be interrupted (Ctrl-C) and
    called again: attached `up` goes on printing what the containers say while it stops them
    (their shutdown messages), as docker compose's does."""

    def __init__(
        self,
        streams: dict[str, Iterator[LogLine]],
        *,
        prefix: bool = True,
        color: bool | None = None,
        timestamps: bool = False,
        on_end: Callable[[str], None] | None = None,
    ) -> None:
        self.prefix, self.timestamps, self.on_end = prefix, timestamps, on_end
        self.color = sys.stdout.isatty() if color is None else color
        # docker compose pads to the longest name plus one, then " | "
        self.width = max((len(n) for n in streams), default=0) + 1
        self.palette = {name: COLORS[i % len(COLORS)] for i, name in enumerate(sorted(streams))}
        self.lines: queue.Queue[object] = queue.Queue(maxsize=10000)
        for name, iterator in streams.items():
            threading.Thread(target=_pump, args=(name, iterator, self.lines), daemon=True).start()
        self.remaining = len(streams)
        # (name, stream) -> the time and parts of a line cut into partial records so far
        self.held: dict[tuple[str, str], tuple[str, list[str]]] = {}

    def run(
        self, give_up: Callable[[], bool] | None = None, linger: Callable[[], bool] | None = None
    ) -> None:
        """Print until every stream ended, or, with `give_up`, until it says so while no line
        comes (a stream that cannot end any more must not hold the caller forever). With
        `linger`, every stream having ended is the end only once `linger()` says so too (a
        restart's new run may be about to join: `add`)."""
        polling = give_up is not None or linger is not None
        while self.remaining or (linger is not None and linger()):
            try:
                entry = self.lines.get(timeout=0.1 if polling else None)
            except queue.Empty:
                if give_up is not None and give_up():
                    return
                continue
            assert isinstance(entry, tuple)
            name, item = entry
            if item is _ADDED:
                self.remaining += 1
                continue
            if item is _DONE:
                self._flush_held(name)
                self.remaining -= 1
                if self.on_end is not None:
                    self.on_end(name)
                continue
            assert hasattr(item, "text")
            self._write(name, item)

    def add(self, name: str, lines: Iterator[LogLine]) -> None:
        """Follow one more stream (a container that started again) from another thread; it
        counts once `run` sees it, so a printer whose streams all ended is not revived."""
        self.lines.put((name, _ADDED))
        threading.Thread(target=_pump, args=(name, lines, self.lines), daemon=True).start()

    def _write(self, name: str, item: LogLine) -> None:
        """One line per output line, as docker compose's: partial records (a line longer
        than 16 KiB, output with no newline) are joined until their line ends."""
        key = (name, item.stream)
        if not item.text.endswith("\n"):
            self.held.setdefault(key, (item.time, []))[1].append(item.text)
            return
        stamp, parts = self.held.pop(key, (item.time, []))
        self._print(name, stamp, "".join([*parts, item.text]))

    def _flush_held(self, name: str) -> None:
        """A stream's last line, which had no newline."""
        for key in [key for key in self.held if key[0] == name]:
            stamp, parts = self.held.pop(key)
            self._print(name, stamp, "".join(parts) + "\n")

    def _print(self, name: str, stamp: str, text: str) -> None:
        if self.timestamps:
            text = f"{stamp} {text}"
        if self.prefix:
            head = f"{name:<{self.width}} | "
            if self.color:
                head = f"\033[{self.palette[name]}m{head}\033[0m"
            text = head + text
        sys.stdout.write(text)
        sys.stdout.flush()


def print_logs(streams: dict[str, Iterator[LogLine]], **options: Any) -> None:
    """Print until every stream ends (for followed streams: until every container stops);
    `options` as LogPrinter takes them (`on_end(name)` runs as each stream ends: `up`
    prints "web-1 exited with code 0" there)."""
    LogPrinter(streams, **options).run()
