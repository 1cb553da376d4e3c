"""Durations as Compose writes them (Go syntax: `10s`, `1m30s`, `1.5h`, `300ms`)."""

from __future__ import annotations

import re

_PART = r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)"  # compiled on first use (re caches it)
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: int | float | str) -> float:
    """Seconds in `value`; plain numbers are seconds. Raises ValueError when malformed."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    pos = 0
    total = 0.0
    for match in re.finditer(_PART, text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration: {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """Go's `time.Duration.String()` shape, which `config` prints (`1m30s`)."""
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    secs_text = f"{secs:.9f}".rstrip("0").rstrip(".")
    return out + f"{secs_text}s"
