"""Interleave several containers' log streams with docker compose's `name  | ` prefixes."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterator

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from engine.api import LogLine

COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
_DONE = object()


def _pump(name: str, lines: Iterator[LogLine], out: queue.Queue[object]) -> None:
    try:
        for line in lines:
            out.put((name, line))
    finally:
        out.put((name, _DONE))


def print_logs(
    streams: dict[str, Iterator[LogLine]],
    *,
    prefix: bool = True,
    color: bool | None = None,
    timestamps: bool = False,
    on_end: Callable[[str], None] | None = None,
) -> None:
    """Print until every stream ends (for followed streams: until every container stops);
    `on_end(name)` runs as each stream ends (`up` prints "web-1 exited with code 0" there)."""
    if color is None:
        color = sys.stdout.isatty()
    # docker compose pads to the longest name plus one, then " | "
    width = max((len(n) for n in streams), default=0) + 1
    palette = {name: COLORS[i % len(COLORS)] for i, name in enumerate(sorted(streams))}
    lines: queue.Queue[object] = queue.Queue(maxsize=10000)
    for name, iterator in streams.items():
        threading.Thread(target=_pump, args=(name, iterator, lines), daemon=True).start()
    remaining = len(streams)
    while remaining:
        entry = lines.get()
        assert isinstance(entry, tuple)
        name, item = entry
        if item is _DONE:
            remaining -= 1
            if on_end is not None:
                on_end(name)
            continue
        assert hasattr(item, "text")
        text = item.text if item.text.endswith("\n") else item.text + "\n"
        if timestamps:
            text = f"{item.time} {text}"
        if prefix:
            head = f"{name:<{width}} | "
            if color:
                head = f"\033[{palette[name]}m{head}\033[0m"
            text = head + text
        sys.stdout.write(text)
        sys.stdout.flush()
