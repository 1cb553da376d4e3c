"""What `up` does before its first container: refuse a dependency cycle of any kind (naming it)
without importing networkx for an acyclic stack (~60 ms every `up` paid), and boot the
supervisors' fork server early only when something is going to be started."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import Orchestrator, UpOptions
from tests.unit.fake_engine import FakeEngine

REPO = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, yaml: str) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(yaml))
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def test_links_cycle_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        """
        name: cyc
        services:
          a: {image: busybox, links: [b]}
          b: {image: busybox, network_mode: "service:a"}
        """,
    )
    engine = FakeEngine()
    with pytest.raises(ComposeError, match=r"dependency cycle detected: (a -> b -> a|b -> a -> b)"):
        Orchestrator(engine, project).up()  # type: ignore[arg-type]
    assert engine.list_containers() == []


def test_acyclic_up_does_not_import_networkx(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a: {image: busybox}\n  b: {image: busybox, depends_on: [a], links: [a]}\n"
    )
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from compose.loader import load_project
        from compose.model import LoadOptions
        from compose.orchestrator import Orchestrator, UpOptions
        from tests.unit.fake_engine import FakeEngine
        project = load_project(LoadOptions(cwd=Path({str(tmp_path)!r}), environ={{}}))
        Orchestrator(FakeEngine(), project).up()
        print("networkx" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


STACK = """
    name: pre
    services:
      a: {image: busybox}
      b: {image: busybox, depends_on: [a]}
"""


def test_fork_server_booted_early_only_when_something_will_start(tmp_path: Path) -> None:
    project = load(tmp_path, STACK)
    engine = FakeEngine()
    Orchestrator(engine, project).up()  # type: ignore[arg-type]
    assert len(engine.actions("prepare_to_start")) == 1
    assert engine.timeline[0][1] == "prepare_to_start"  # before any create or start
    Orchestrator(engine, project).up()  # type: ignore[arg-type]  # all running: nothing to do
    Orchestrator(engine, project).up(UpOptions(no_start=True))  # type: ignore[arg-type]
    assert len(engine.actions("prepare_to_start")) == 1
    Orchestrator(engine, project).up(UpOptions(scale=(("a", 2),)))  # type: ignore[arg-type]
    assert len(engine.actions("prepare_to_start")) == 2
