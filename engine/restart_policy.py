"""Docker's restart policies and back-off, as pure decisions the supervisor asks about."""

from __future__ import annotations

from dataclasses import dataclass

BACKOFF_START = 0.1  # seconds; Docker doubles it per restart
BACKOFF_MAX = 60.0
RESET_AFTER = 10.0  # a run at least this long resets the back-off (Docker)


def should_restart(
    policy: str, max_retries: int, exit_code: int, restarts_so_far: int, stop_requested: bool
) -> bool:
    if stop_requested or policy == "no":
        return False
    if policy in ("always", "unless-stopped"):
        return True
    if policy == "on-failure":
        return exit_code != 0 and (max_retries == 0 or restarts_so_far < max_retries)
    return False


@dataclass
class Backoff:
    """The delay before the next restart: doubles from 100 ms up to a minute; reset by a run
    that lasted at least ten seconds."""

    delay: float = 0.0

    def next_delay(self, ran_for: float) -> float:
        if ran_for >= RESET_AFTER or self.delay == 0.0:
            self.delay = BACKOFF_START
        else:
            self.delay = min(self.delay * 2, BACKOFF_MAX)
        return self.delay
