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


def test_docker_time_flags_take_timestamps_unix_seconds_and_signed_durations() -> None:
    import pytest

    from engine.api import docker_time_flag
    from engine.errors import InvalidArgumentError
    from engine.logs import normalize_since

    assert normalize_since("10s", now=1000) == "1970-01-01T00:16:30.000000000Z"
    assert normalize_since("-10s", now=1000) == "1970-01-01T00:16:50.000000000Z"  # ahead
    assert normalize_since("1h1m", now=7200) == "1970-01-01T00:59:00.000000000Z"
    assert normalize_since("1700000000.5") == "2023-11-14T22:13:20.500000000Z"
    assert normalize_since("2026-01-02") == "2026-01-02T00:00:00.000000000Z"
    assert docker_time_flag("2026-01-02T03:04:05+01:00", "since").startswith(
        "2026-01-02T02:04:05"
    )
    for bad in ("--5s", "-", "soon", ""):
        with pytest.raises(InvalidArgumentError, match="invalid value for until"):
            docker_time_flag(bad, "until")
