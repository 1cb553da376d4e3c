"""Progress events the orchestration reports; the CLI decides how to show them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class ResourceKind(enum.Enum):
    CONTAINER = "Container"
    NETWORK = "Network"
    VOLUME = "Volume"


class Phase(enum.Enum):
    CREATING = "Creating"
    CREATED = "Created"
    STARTING = "Starting"
    STARTED = "Started"
    RUNNING = "Running"
    RECREATE = "Recreate"
    RECREATED = "Recreated"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    REMOVING = "Removing"
    REMOVED = "Removed"
    ERROR = "Error"
    WARNING = "Warning"


@dataclass(frozen=True)
class Event:
    kind: ResourceKind
    name: str
    phase: Phase
    detail: str = ""


Reporter = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """A reporter for callers that want no feedback (the Python API, tests)."""
