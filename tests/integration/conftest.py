"""Fixtures the integration tests share (the engine ones live in tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest

from engine.api import Engine


@pytest.fixture
def net(engine_with_busybox: Engine) -> str:
    """A fresh bridge network on the test engine (removed with the engine's data root)."""
    name = f"t5_{uuid.uuid4().hex[:8]}"
    engine_with_busybox.ensure_network(name, labels={})
    return name
