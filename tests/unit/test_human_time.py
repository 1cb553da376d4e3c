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
