"""Docker's human durations ("Up 5 seconds", "Exited (3) 2 minutes ago")."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_rfc3339(text: str) -> datetime:
    base = text.rstrip("Z")
    if "." in base:
        head, frac = base.split(".", 1)
        base = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(base).replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{int(seconds // 3600) // (24 * 365)} years"


def since(text: str | None, now: datetime | None = None) -> str:
    if not text:
        return ""
    now = now or datetime.now(UTC)
    return human_duration((now - parse_rfc3339(text)).total_seconds())
