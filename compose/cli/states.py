"""Container state words the CLI compares against without importing the engine (keeps `--help`
and the light commands from loading pyroute2)."""

from __future__ import annotations

from enum import Enum

RUNNING = "running"
EXITED = "exited"


def is_exited(status: Enum) -> bool:
    return bool(status.value == EXITED)
