"""`pycompose config` (placeholder until the loader lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `config` command to the app."""
