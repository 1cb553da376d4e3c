"""Docker's human durations (go-units HumanDuration), as `ps` and `images` print them."""

from __future__ import annotations

import pytest

from compose.human_time import human_duration

HOUR = 3600.0


@pytest.mark.parametrize(("seconds", "text"), [
    (0.5, "Less than a second"),
    (1, "1 second"),
    (59, "59 seconds"),
    (61, "About a minute"),
    (59 * 60, "59 minutes"),
    (HOUR, "About an hour"),
    (47 * HOUR, "47 hours"),
    (13 * 24 * HOUR, "13 days"),
    (59 * 24 * HOUR, "8 weeks"),
    (700 * 24 * HOUR, "23 months"),
    (1064 * 24 * HOUR, "2 years"),
])
def test_go_units_wording(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_event_times_are_go_s_rfc3339_nano() -> None:
    from datetime import UTC, datetime

    from compose.cli.misc_cmds import rfc3339_nano

    assert rfc3339_nano(datetime(2026, 1, 2, 3, 4, 5, 120000, UTC)) == "2026-01-02T03:04:05.12Z"
    assert rfc3339_nano(datetime(2026, 1, 2, 3, 4, 5, 0, UTC)) == "2026-01-02T03:04:05Z"
