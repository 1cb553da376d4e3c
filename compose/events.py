"""Progress events the orchestration reports; the CLI decides how to show them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class ResourceKind(enum.Enum):
    CONTAINER = "Container"
    NETWORK = "Network"
    VOLUME = "Volume"
    IMAGE = "Image"
    # docker compose's events named by the container's name alone (`cp`'s: ` web-1 copy …`)
    BARE = ""


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
    WAITING = "Waiting"
    HEALTHY = "Healthy"
    EXITED = "Exited"
    RESTARTING = "Restarting"
    RESTARTED = "Restarted"
    KILLING = "Killing"
    KILLED = "Killed"
    SKIPPED = "Skipped"
    COMMITTING = "Committing"
    COMMITTED = "Committed"  # detail: "as sha256:…", as docker compose shows the new image
    COPYING = "Copying"
    COPIED = "Copied"
    ERROR = "Error"
    WARNING = "Warning"
    # docker compose's warning event for a network/volume `down` cannot remove: another
    # container still uses it (shown in place, like a phase: ` Network x  Resource is ...`)
    IN_USE = "Resource is still in use"
    # docker compose's word for one removed meanwhile (a concurrent `down`): not a failure
    NOT_FOUND = "No resource found to remove"

    @property
    def is_final(self) -> bool:
        """Phases after which a progress line stops its clock."""
        return self in _FINAL


_FINAL = frozenset(
    {
        Phase.CREATED,
        Phase.STARTED,
        Phase.RUNNING,
        Phase.RECREATED,
        Phase.STOPPED,
        Phase.REMOVED,
        Phase.HEALTHY,
        Phase.EXITED,
        Phase.RESTARTED,
        Phase.KILLED,
        Phase.SKIPPED,
        Phase.COMMITTED,
        Phase.COPIED,
        Phase.ERROR,
        Phase.IN_USE,
        Phase.NOT_FOUND,
    }
)


@dataclass(frozen=True)
class Event:
    """A resource's progress as the orchestration reports it, so the CLI picks the view
    (tty, plain, json, quiet) without the orchestrator knowing which."""

    kind: ResourceKind
    name: str
    phase: Phase
    detail: str = ""


Reporter = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """A reporter for callers that want no feedback (the Python API, tests)."""
