"""Signal names as `kill -s` and `stop_signal` take them."""

from __future__ import annotations

import re
import signal

import pytest

from engine.errors import InvalidArgumentError
from engine.signal_names import signal_number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("SIGTERM", signal.SIGTERM), ("term", signal.SIGTERM), ("9", 9), ("sigusr1", 10),
        ("SIGRTMIN+3", signal.SIGRTMIN + 3), ("RTMAX-1", signal.SIGRTMAX - 1),
        (None, signal.SIGTERM), ("", signal.SIGTERM),
    ],
)
def test_known_signals(text: str | None, number: int) -> None:
    assert signal_number(text) == number


@pytest.mark.parametrize("text", ["NOSUCH", "SIGFOO", "0", "65", "SIGRTMIN+99", "-1", "9x"])
def test_unknown_signals_are_a_clear_error(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(f"invalid signal: {text}")):
        signal_number(text)
