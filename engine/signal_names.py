"""Signals as users write them (`SIGTERM`, `term`, `15`, `SIGRTMIN+3`), checked the way
Docker checks `stop_signal` and `kill -s`: an unknown one is a clear error before anything is
sent, never a KeyError at `stop` time (which would leave the container unstoppable)."""

from __future__ import annotations

import signal

from engine.errors import InvalidArgumentError


def signal_number(name: str | None) -> int:
    """The number of `name` (SIGTERM when unset); InvalidArgumentError when there is none."""
    if not name:
        return int(signal.SIGTERM)
    text = name.strip().upper()
    text = text if text.isdigit() or text.startswith("SIG") else "SIG" + text
    number = _number(text)
    if number is None or not 0 < number <= signal.SIGRTMAX:
        raise InvalidArgumentError(f"invalid signal: {name}", subject=name)
    return number


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    for base, sign in (("SIGRTMIN+", 1), ("SIGRTMAX-", -1)):
        offset = text.removeprefix(base)
        if offset != text and offset.isdigit():
            start = signal.SIGRTMIN if sign > 0 else signal.SIGRTMAX
            number = int(start) + sign * int(offset)
            return number if signal.SIGRTMIN <= number <= signal.SIGRTMAX else None
    member = signal.Signals.__members__.get(text)
    return int(member) if member is not None else None
