"""Where the stack file's JSON schema is: next to the source tree, or where a wheel put it.

Its own module so that callers needing only the path (the project cache's fingerprint) do not
import the validator's dependencies."""

from __future__ import annotations

import sys
from pathlib import Path

import compose


def schema_path() -> Path:
    """The schema next to the source tree, or where a wheel install put it."""
    local = Path(compose.__file__).parent.parent / "schemas" / "compose.schema.json"
    if local.is_file():
        return local
    return Path(sys.prefix) / "share" / "pycompose" / "schemas" / "compose.schema.json"
