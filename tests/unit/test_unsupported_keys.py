"""Keys the engine does not act on are warned about on `up`, not silently ignored."""

from __future__ import annotations

import textwrap
from pathlib import Path

from compose.events import Event, Phase
from compose.loader import load_project
from compose.model import LoadOptions
from compose.orchestrator import Orchestrator
from tests.unit.fake_engine import FakeEngine


def test_up_warns_once_per_ignored_key_and_service(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""
        name: unsup
        services:
          a:
            image: busybox
            mem_swappiness: 0
            uts: host
            storage_opt: {size: 1G}
          b:
            image: busybox
    """))
    events: list[Event] = []
    project = load_project(LoadOptions(cwd=tmp_path, environ={}))
    Orchestrator(FakeEngine(), project, events.append).up()  # type: ignore[arg-type]
    warnings = [e.detail for e in events if e.phase is Phase.WARNING]
    assert len(warnings) == 3, warnings
    assert all(w.startswith('service "a": ') and w.endswith("is ignored") for w in warnings)
    assert any("mem_swappiness" in w for w in warnings)
