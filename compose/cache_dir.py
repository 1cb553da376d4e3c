"""Where pycompose keeps what it can recompute (validation results, loaded projects).

One place decides it, so every cache honours the same switch: `$PYCOMPOSE_CACHE_DIR`, else
`$XDG_CACHE_HOME/pycompose`, else `~/.cache/pycompose`; `PYCOMPOSE_CACHE_DIR=` (empty) turns
caching off.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "PYCOMPOSE_CACHE_DIR"


def cache_root() -> Path | None:
    """The cache directory (not created here), or None when caching is turned off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pycompose"
