"""`--dry-run` (docker compose's): the orchestration runs as usual on an engine that reads the
real state and fakes every change (engine.api.dry_run_engine). Checked on the FakeEngine:
after a dry `up`, `stop`, `restart`, `kill`, `rm` and `down -v --rmi all`, the real engine has
seen no change, and what the progress lines say is what the real command would have done."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compose.cli.context import check_dry_run
from compose.errors import ComposeError
from compose.events import Event, Phase, ResourceKind
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import DownOptions, Orchestrator, UpOptions
from compose.progress import JsonProgress, PlainProgress, ProgressMode, make_progress
from engine.api import ContainerStatus, dry_run_engine
from tests.unit.fake_engine import FakeEngine, Script

STACK = """
    name: dry
    services:
      db:
        image: busybox
        healthcheck: {test: ["CMD", "true"]}
        post_start: [{command: ["touch", "/started"]}]
      web:
        image: busybox
        depends_on: {db: {condition: service_healthy}}
        volumes: [data:/data, /anon]
      once:
        image: busybox
      after:
        image: busybox
        depends_on: {once: {condition: service_completed_successfully}}
    volumes:
      data: {}
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(STACK))
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def _real_stack(project: Project) -> FakeEngine:
    real = FakeEngine(scripts={"once": Script(exit_after=0.0)})  # a one-shot that exits 0
    Orchestrator(real, project).up()  # type: ignore[arg-type]
    return real


def _state(engine: FakeEngine) -> tuple[Any, ...]:
    containers = sorted((c.id, c.name, c.status) for c in engine.list_containers())
    return containers, dict(engine.networks_made), dict(engine.volumes_made), len(engine.execs)


def _dry(engine: FakeEngine, project: Project) -> tuple[Orchestrator, list[Event]]:
    events: list[Event] = []
    return Orchestrator(dry_run_engine(engine), project, events.append), events  # type: ignore[arg-type]


def _said(events: list[Event], phase: Phase) -> set[str]:
    return {e.name for e in events if e.phase is phase}


def test_a_dry_up_on_nothing_shows_everything_and_makes_nothing(project: Project) -> None:
    real = FakeEngine()
    orch, events = _dry(real, project)
    orch.up(UpOptions(wait=True))
    assert _state(real) == ([], {}, {}, 0)  # no container, network, volume; no hook exec'd
    assert _said(events, Phase.STARTED) == {"dry-db-1", "dry-web-1", "dry-once-1", "dry-after-1"}
    made = {(e.kind, e.name) for e in events if e.phase is Phase.CREATED}
    assert (ResourceKind.NETWORK, "dry_default") in made
    assert (ResourceKind.VOLUME, "dry_data") in made
    # within the dry run, later reads see what it pretended to do
    assert {c.name: c.status for c in orch.containers()} == {
        n: ContainerStatus.RUNNING for n in ("dry-db-1", "dry-web-1", "dry-once-1", "dry-after-1")
    }


def test_dry_runs_of_the_other_commands_leave_a_real_stack_as_it_is(project: Project) -> None:
    real = _real_stack(project)
    before = _state(real)
    orch, events = _dry(real, project)
    orch.stop()
    assert _said(events, Phase.STOPPED) >= {"dry-db-1", "dry-web-1"}
    assert _state(real) == before
    for dry in (
        lambda o: o.restart(),
        lambda o: o.kill(),
        lambda o: o.remove(stop=True, volumes=True),
        lambda o: o.up(UpOptions(force_recreate=True)),
        lambda o: o.create(UpOptions(scale=(("web", 3),))),
        lambda o: o.down(DownOptions(volumes=True, rmi="all", remove_orphans=True)),
    ):
        orch, events = _dry(real, project)
        dry(orch)
        assert events, "a dry run shows what it would do"
        assert _state(real) == before


def test_a_dry_down_shows_what_it_removes(project: Project) -> None:
    real = _real_stack(project)
    orch, events = _dry(real, project)
    orch.down(DownOptions(volumes=True))
    removed = {(e.kind, e.name) for e in events if e.phase is Phase.REMOVED}
    assert (ResourceKind.CONTAINER, "dry-web-1") in removed
    assert (ResourceKind.NETWORK, "dry_default") in removed
    assert (ResourceKind.VOLUME, "dry_data") in removed
    assert orch.containers(include_oneoff=True) == []  # as the dry run left it
    assert len(real.list_containers()) == 4


def test_every_progress_line_of_a_dry_run_says_so() -> None:
    event = Event(ResourceKind.CONTAINER, "dry-web-1", Phase.STARTED)
    plain = make_progress(ProgressMode.PLAIN, dry_run=True)
    assert isinstance(plain, PlainProgress)
    plain.stream = io.StringIO()
    plain(event)
    assert plain.stream.getvalue() == " DRY-RUN MODE - Container dry-web-1  Started\n"
    json_view = make_progress(ProgressMode.JSON, dry_run=True)
    assert isinstance(json_view, JsonProgress)
    json_view.stream = io.StringIO()
    json_view(event)
    assert '"dry-run": true' in json_view.stream.getvalue()
    assert make_progress(ProgressMode.PLAIN).prefix == ""


def test_commands_that_cannot_be_faked_are_refused_before_anything_runs() -> None:
    assert check_dry_run("up") and check_dry_run("down") and check_dry_run("rm")
    assert not check_dry_run("ps") and not check_dry_run(None)  # read only: the real engine
    assert not check_dry_run("volumes") and not check_dry_run("container")  # were refused
    for command in ("run", "exec", "build", "pull", "volume", "cp", "watch"):
        with pytest.raises(ComposeError, match="--dry-run is not supported"):
            check_dry_run(command)


def test_the_dry_engine_has_no_call_it_does_not_fake() -> None:
    dry: Any = dry_run_engine(FakeEngine())  # type: ignore[arg-type]
    for change in ("exec_in_container", "exec_detached", "commit_container", "import_image"):
        with pytest.raises(AttributeError):
            getattr(dry, change)
