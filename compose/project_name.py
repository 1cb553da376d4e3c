"""Project names: validation of explicit names and normalization of derived ones.

Explicit names (`-p`, `COMPOSE_PROJECT_NAME`, `name:`) are checked and rejected when invalid,
because silently renaming a project would make `down` miss the containers `up` created.
Names derived from a directory are normalized instead, as docker compose does.
"""

from __future__ import annotations

import re

from compose.errors import ComposeError

_VALID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class InvalidProjectNameError(ComposeError):
    """An explicitly given project name does not fit the allowed alphabet."""


def validate_project_name(name: str) -> str:
    """Return `name` unchanged if valid; raise InvalidProjectNameError otherwise."""
    if not name:
        raise InvalidProjectNameError("project name must not be empty")
    if not _VALID.match(name):
        raise InvalidProjectNameError(
            f'invalid project name "{name}": is not a valid project name, it must contain '
            "only lowercase letters, decimal digits, dashes, and underscores, and must begin "
            "with a lowercase letter or decimal digit"
        )
    return name


def normalize_project_name(name: str) -> str:
    """Lowercase and drop characters outside `[a-z0-9_-]`, then strip leading `_`/`-`."""
    cleaned = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return cleaned.lstrip("_-")
