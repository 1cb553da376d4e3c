"""Convergence: the pure planner, and `Orchestrator.up/down` over a fake engine at the seam
(the same scenarios run for real in tests/e2e/test_orchestration.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from compose import labels as L
from compose.convergence import ActionKind, RecreatePolicy, plan_service
from compose.errors import ComposeError, ServiceFailedError
from compose.events import Event, Phase
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import DownOptions, Orchestrator, UpOptions
from engine.api import ContainerInfo, ContainerStatus
from tests.unit.fake_engine import FakeEngine, Script

# ---- the pure planner ------------------------------------------------------------------------


def _infos(engine: FakeEngine, service: str, numbers: list[int], hash_: str = "h") -> list:
    from engine.api import ContainerSpec

    for n in numbers:
        engine.create_container(
            ContainerSpec(
                name=f"p-{service}-{n}",
                image="busybox",
                labels={L.SERVICE: service, L.NUMBER: str(n), L.CONFIG_HASH: hash_},
            )
        )
    return engine.list_containers({L.SERVICE: service})


def test_plan_keeps_unchanged_and_creates_missing() -> None:
    infos = _infos(FakeEngine(), "web", [1])
    actions = plan_service(infos, 3, "h")
    assert [(a.kind, a.number) for a in actions] == [
        (ActionKind.KEEP, 1),
        (ActionKind.CREATE, 2),
        (ActionKind.CREATE, 3),
    ]


def test_plan_scale_down_keeps_lowest_numbers_and_removes_highest_first() -> None:
    infos = _infos(FakeEngine(), "web", [3, 1, 2])
    actions = plan_service(infos, 1, "h")
    assert [(a.kind, a.number) for a in actions] == [
        (ActionKind.KEEP, 1),
        (ActionKind.REMOVE, 3),
        (ActionKind.REMOVE, 2),
    ]


def test_plan_fills_the_lowest_free_numbers() -> None:
    infos = _infos(FakeEngine(), "web", [2])
    actions = plan_service(infos, 2, "h")
    assert [(a.kind, a.number) for a in actions] == [(ActionKind.CREATE, 1), (ActionKind.KEEP, 2)]


def test_plan_recreate_policies() -> None:
    infos = _infos(FakeEngine(), "web", [1], hash_="old")
    assert plan_service(infos, 1, "new")[0].kind is ActionKind.RECREATE
    assert plan_service(infos, 1, "new", RecreatePolicy.NEVER)[0].kind is ActionKind.KEEP
    same = _infos(FakeEngine(), "web", [1], hash_="new")
    assert plan_service(same, 1, "new", RecreatePolicy.FORCE)[0].kind is ActionKind.RECREATE


def test_plan_scale_zero_removes_everything() -> None:
    infos = _infos(FakeEngine(), "web", [1, 2])
    assert {a.kind for a in plan_service(infos, 0, "h")} == {ActionKind.REMOVE}


# ---- the orchestrator over the fake engine ---------------------------------------------------


def load(tmp_path: Path, yaml: str) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(yaml))
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


STACK = """
    name: conv
    services:
      db:
        image: busybox
        environment: {LEVEL: "1"}
      web:
        image: busybox
        depends_on: [db]
      worker:
        image: busybox
"""


def ids(engine: FakeEngine) -> dict[str, str]:
    return {c.name: c.id for c in engine.list_containers()}


def test_up_twice_touches_nothing(tmp_path: Path) -> None:
    engine = FakeEngine()
    orch = Orchestrator(engine, load(tmp_path, STACK))  # type: ignore[arg-type]
    orch.up()
    before = ids(engine)
    assert set(before) == {"conv-db-1", "conv-web-1", "conv-worker-1"}
    events: list[Event] = []
    Orchestrator(engine, load(tmp_path, STACK), events.append).up()  # type: ignore[arg-type]
    assert ids(engine) == before
    assert {e.phase for e in events if e.kind.value == "Container"} == {Phase.RUNNING}


def test_changed_environment_recreates_only_that_service(tmp_path: Path) -> None:
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, STACK)).up()  # type: ignore[arg-type]
    before = ids(engine)
    changed = load(tmp_path, STACK.replace('LEVEL: "1"', 'LEVEL: "2"'))
    Orchestrator(engine, changed).up()  # type: ignore[arg-type]
    after = ids(engine)
    assert after["conv-db-1"] != before["conv-db-1"]
    assert after["conv-web-1"] == before["conv-web-1"]
    assert after["conv-worker-1"] == before["conv-worker-1"]
    assert engine.actions("stop") == ["conv-db-1"]


def test_what_docker_compose_does_not_hash_recreates_nothing(tmp_path: Path) -> None:
    """docker compose's ServiceHash leaves out build, pull_policy, scale/deploy.replicas,
    depends_on and profiles: changing them keeps the containers (a new build shows as a new
    image id instead); scaling up only adds a replica."""
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, STACK)).up()  # type: ignore[arg-type]
    before = ids(engine)
    changed = STACK.replace(
        "      worker:\n        image: busybox\n",
        "      worker:\n        image: busybox\n        pull_policy: missing\n"
        "        deploy: {replicas: 2}\n        build: {context: ., args: {V: '2'}}\n"
        "        depends_on: [db]\n",
    )
    assert changed != STACK
    Orchestrator(engine, load(tmp_path, changed)).up()  # type: ignore[arg-type]
    after = ids(engine)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"conv-worker-2"}


def test_restart_true_dependents_are_restarted_when_their_dependency_is_recreated(
    tmp_path: Path,
) -> None:
    stack = STACK.replace(
        "depends_on: [db]", "depends_on: {db: {condition: service_started, restart: true}}"
    )
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, stack)).up()  # type: ignore[arg-type]
    before = ids(engine)
    events: list[Event] = []
    changed = load(tmp_path, stack.replace('LEVEL: "1"', 'LEVEL: "2"'))
    Orchestrator(engine, changed, events.append).up()  # type: ignore[arg-type]
    after = ids(engine)
    assert after["conv-web-1"] == before["conv-web-1"], "web must be restarted, not recreated"
    assert ("conv-web-1", Phase.RESTARTED) in [(e.name, e.phase) for e in events]
    web_starts = [t for t, a, n in engine.timeline if a == "started" and n == "conv-web-1"]
    db_recreated = [t for t, a, n in engine.timeline if a == "started" and n == "conv-db-1"][-1]
    assert len(web_starts) == 2 and web_starts[-1] > db_recreated


def test_force_and_no_recreate(tmp_path: Path) -> None:
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, STACK)).up()  # type: ignore[arg-type]
    before = ids(engine)
    changed = load(tmp_path, STACK.replace('LEVEL: "1"', 'LEVEL: "2"'))
    Orchestrator(engine, changed).up(UpOptions(no_recreate=True))  # type: ignore[arg-type]
    assert ids(engine) == before
    Orchestrator(engine, changed).up(UpOptions(force_recreate=True))  # type: ignore[arg-type]
    assert not set(ids(engine).values()) & set(before.values())


def test_scale_up_and_down_keeps_lowest_numbers(tmp_path: Path) -> None:
    engine = FakeEngine()
    project = load(tmp_path, STACK)
    Orchestrator(engine, project).up(UpOptions(scale=(("worker", 3),)))  # type: ignore[arg-type]
    workers = {n: i for n, i in ids(engine).items() if "worker" in n}
    assert set(workers) == {"conv-worker-1", "conv-worker-2", "conv-worker-3"}
    Orchestrator(engine, project).up(UpOptions(scale=(("worker", 1),)))  # type: ignore[arg-type]
    left = {n: i for n, i in ids(engine).items() if "worker" in n}
    assert left == {"conv-worker-1": workers["conv-worker-1"]}


def test_deploy_replicas_is_the_default_scale(tmp_path: Path) -> None:
    engine = FakeEngine()
    stack = STACK + "        deploy: {replicas: 2}\n"
    Orchestrator(engine, load(tmp_path, stack)).up()  # type: ignore[arg-type]
    assert {"conv-worker-1", "conv-worker-2"} <= set(ids(engine))


def test_orphans_warned_then_removed(tmp_path: Path) -> None:
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, STACK)).up()  # type: ignore[arg-type]
    smaller = load(tmp_path, STACK.replace("      worker:\n        image: busybox\n", ""))
    events: list[Event] = []
    Orchestrator(engine, smaller, events.append).up()  # type: ignore[arg-type]
    assert any(e.phase is Phase.WARNING and "conv-worker-1" in e.detail for e in events)
    assert "conv-worker-1" in ids(engine)
    Orchestrator(engine, smaller).up(UpOptions(remove_orphans=True))  # type: ignore[arg-type]
    assert "conv-worker-1" not in ids(engine)


ORDERED = """
    name: order
    services:
      migrate:
        image: busybox
      db:
        image: busybox
      app:
        image: busybox
        depends_on:
          migrate: {condition: service_completed_successfully}
          db: {condition: service_healthy}
      lone:
        image: busybox
"""


def test_completed_successfully_and_healthy_gate_the_start(tmp_path: Path) -> None:
    engine = FakeEngine(
        scripts={
            "migrate": Script(exit_after=0.3, exit_code=0),
            "db": Script(health="healthy", healthy_after=0.2),
        }
    )
    Orchestrator(engine, load(tmp_path, ORDERED)).up()  # type: ignore[arg-type]
    app_start = engine.first("start", "order-app-1")
    assert app_start >= engine.first("exit", "order-migrate-1")
    assert app_start - engine.first("started", "order-db-1") >= 0.2
    assert engine.first("start", "order-lone-1") < engine.first("exit", "order-migrate-1")


def test_one_shot_failure_is_reported_with_its_name_and_independent_branch_runs(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(scripts={"migrate": Script(exit_after=0.05, exit_code=3)})
    with pytest.raises(ServiceFailedError) as caught:
        Orchestrator(engine, load(tmp_path, ORDERED)).up()  # type: ignore[arg-type]
    text = str(caught.value)
    assert 'service app: dependency migrate failed: service "migrate" didn\'t complete ' in text
    assert "exit 3" in text
    names = ids(engine)
    assert "order-app-1" not in names and "order-lone-1" in names
    assert engine.inspect("order-lone-1").status is ContainerStatus.RUNNING


def test_unhealthy_dependency_stops_its_dependent(tmp_path: Path) -> None:
    engine = FakeEngine(
        scripts={
            "db": Script(health="unhealthy", healthy_after=0.05),
            "migrate": Script(exit_after=0.01),
        }
    )
    with pytest.raises(ServiceFailedError, match="container order-db-1 is unhealthy"):
        Orchestrator(engine, load(tmp_path, ORDERED)).up()  # type: ignore[arg-type]


def test_wait_timeout_bounds_the_wait_for_a_dependency_that_never_turns_healthy(
    tmp_path: Path,
) -> None:
    import time

    engine = FakeEngine(
        scripts={"db": Script(healthy_after=3600), "migrate": Script(exit_after=0.01)}
    )
    started = time.monotonic()
    with pytest.raises(ServiceFailedError, match=r"container order-db-1 is not healthy yet"):
        Orchestrator(engine, load(tmp_path, ORDERED)).up(  # type: ignore[arg-type]
            UpOptions(wait=True, wait_timeout=0.3)
        )
    assert time.monotonic() - started < 10
    assert "order-app-1" not in ids(engine)


@pytest.mark.parametrize(
    ("scripts", "removed", "message"),
    [
        # a `down` while this `up` waits for a healthcheck
        ({"db": Script(healthy_after=3600), "migrate": Script(exit_after=0.01)}, "order-db-1",
         "dependency db failed: container order-db-1 was removed while waited for"),
        # a one-shot dependency (migrate never exits) removed while waited for
        ({"db": Script(), "migrate": Script()}, "order-migrate-1",
         "container order-migrate-1 was removed while waited for"),
    ],
    ids=["healthcheck", "one-shot"],
)
def test_a_dependency_removed_while_waited_for_is_named(
    tmp_path: Path, scripts: dict[str, Script], removed: str, message: str
) -> None:
    """The error names the container that went away under the wait."""
    import threading

    engine = FakeEngine(scripts=scripts)
    remover = threading.Timer(0.3, lambda: engine.remove_container(removed, force=True))
    remover.start()
    try:
        with pytest.raises(ServiceFailedError) as caught:
            Orchestrator(engine, load(tmp_path, ORDERED)).up()  # type: ignore[arg-type]
    finally:
        remover.cancel()
    assert message in str(caught.value)


def test_failed_start_names_the_service(tmp_path: Path) -> None:
    engine = FakeEngine(scripts={"db": Script(fail_start="exec: no such file")})
    with pytest.raises(ServiceFailedError) as caught:
        Orchestrator(engine, load(tmp_path, STACK)).up()  # type: ignore[arg-type]
    assert "service db: container conv-db-1 failed to start: exec: no such file" in str(
        caught.value
    )
    assert "service web: dependency db failed" in str(caught.value)
    assert engine.inspect("conv-worker-1").status is ContainerStatus.RUNNING


def test_optional_missing_dependency_and_no_deps(tmp_path: Path) -> None:
    stack = """
        name: opt
        services:
          app:
            image: busybox
            depends_on:
              metrics: {condition: service_started, required: false}
              db: {condition: service_started}
          db:
            image: busybox
          metrics:
            image: busybox
            profiles: [monitoring]
    """
    engine = FakeEngine()
    orch = Orchestrator(engine, load(tmp_path, stack))  # type: ignore[arg-type]
    orch.up(UpOptions(services=("app",), no_deps=True))
    assert set(ids(engine)) == {"opt-app-1"}
    Orchestrator(engine, load(tmp_path, stack)).up()  # type: ignore[arg-type]
    assert set(ids(engine)) == {"opt-app-1", "opt-db-1"}


def test_no_start_creates_only_and_wait_checks_health(tmp_path: Path) -> None:
    engine = FakeEngine(scripts={"db": Script(health="unhealthy")})
    orch = Orchestrator(engine, load(tmp_path, STACK))  # type: ignore[arg-type]
    orch.up(UpOptions(no_start=True))
    assert {c.status for c in engine.list_containers()} == {ContainerStatus.CREATED}
    with pytest.raises(ServiceFailedError, match="conv-db-1 is unhealthy"):
        orch.up(UpOptions(services=("db",), wait=True, wait_timeout=1))


def test_parallel_limit_is_respected(tmp_path: Path) -> None:
    services = "".join(f"      s{i}:\n        image: busybox\n" for i in range(6))
    engine = FakeEngine(scripts={f"s{i}": Script(start_delay=0.05) for i in range(6)})
    project = load(tmp_path, "name: par\nservices:\n" + services)
    Orchestrator(engine, project).up(UpOptions(parallel=2))  # type: ignore[arg-type]
    assert engine.max_concurrent_starts == 2
    engine2 = FakeEngine(scripts={f"s{i}": Script(start_delay=0.05) for i in range(6)})
    Orchestrator(engine2, project).up(UpOptions(parallel=8))  # type: ignore[arg-type]
    assert engine2.max_concurrent_starts > 2


def test_down_stops_dependents_first_and_removes_everything(tmp_path: Path) -> None:
    engine = FakeEngine()
    project = load(tmp_path, STACK)
    Orchestrator(engine, project).up()  # type: ignore[arg-type]
    Orchestrator(engine, project).down(DownOptions())  # type: ignore[arg-type]
    assert ids(engine) == {}
    assert engine.networks_made == {}
    removed = engine.actions("remove")
    assert removed.index("conv-web-1") < removed.index("conv-db-1")


def test_down_racing_another_down_takes_networks_and_volumes_gone_meanwhile_as_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `down -v` of one project at once (a fixture's teardown twice): the one that finds a
    network or volume removed by the other between listing and removing succeeds, saying so
    as docker compose does ("No resource found to remove")."""
    from engine.api import NetworkNotFoundError, VolumeNotFoundError

    engine = FakeEngine()
    with_volume = STACK + "        volumes: [data:/data]\n    volumes:\n      data: {}\n"
    project = load(tmp_path, with_volume)
    Orchestrator(engine, project).up()  # type: ignore[arg-type]

    def gone_network(name: str) -> None:
        raise NetworkNotFoundError(f"network {name} not found")

    def gone_volume(name: str) -> None:
        raise VolumeNotFoundError(f"no such volume: {name}")

    monkeypatch.setattr(engine, "remove_network", gone_network)
    monkeypatch.setattr(engine, "remove_volume", gone_volume)
    events: list[Event] = []
    Orchestrator(engine, project, events.append).down(  # type: ignore[arg-type]
        DownOptions(volumes=True)
    )
    assert ids(engine) == {}
    finals = {(e.kind.value, e.name): e.phase for e in events if e.kind.value != "Container"}
    assert finals == {
        ("Network", "conv_default"): Phase.NOT_FOUND, ("Volume", "conv_data"): Phase.NOT_FOUND
    }


def test_scale_of_unknown_service_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match="no such service: nope"):
        Orchestrator(FakeEngine(), load(tmp_path, STACK)).up(  # type: ignore[arg-type]
            UpOptions(scale=(("nope", 2),))
        )


def test_custom_container_name_cannot_scale(tmp_path: Path) -> None:
    stack = STACK.replace(
        "      worker:\n        image: busybox\n",
        "      worker:\n        image: busybox\n        container_name: wk\n",
    )  # two characters at least: compose-spec's (and Docker's) container name pattern
    with pytest.raises(ComposeError, match='custom container name "wk"'):
        Orchestrator(FakeEngine(), load(tmp_path, stack)).up(  # type: ignore[arg-type]
            UpOptions(scale=(("worker", 2),))
        )


def test_services_joining_a_namespace_start_after_it_and_follow_its_recreation(
    tmp_path: Path,
) -> None:
    """`ipc`/`pid`/`network_mode: service:X` need X running first (its namespace is joined at
    start), and are recreated with X; `links`/`volumes_from` order the start too."""
    stack = """
        name: ns
        services:
          shm:
            image: busybox
            environment: {LEVEL: "1"}
          reader:
            image: busybox
            ipc: "service:shm"
          tracer:
            image: busybox
            pid: "service:shm"
          backup:
            image: busybox
            volumes_from: [shm]
    """
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, stack)).up()  # type: ignore[arg-type]
    shm_started = engine.first("started", "ns-shm-1")
    for name in ("ns-reader-1", "ns-tracer-1", "ns-backup-1"):
        assert engine.first("create", name) > shm_started, name
    before = ids(engine)
    Orchestrator(engine, load(tmp_path, stack.replace('"1"', '"2"'))).up()  # type: ignore[arg-type]
    after = ids(engine)
    assert after["ns-reader-1"] != before["ns-reader-1"]
    assert after["ns-tracer-1"] != before["ns-tracer-1"]
    assert after["ns-backup-1"] == before["ns-backup-1"]  # volumes_from shares no namespace


def test_down_stops_unrelated_services_as_one_batch_and_dependents_first(
    tmp_path: Path,
) -> None:
    """Services nobody depends on and that depend on nobody are signalled together; a
    dependent still stops before what it depends on."""
    stack = """
        name: batch
        services:
          db: {image: busybox}
          web: {image: busybox, depends_on: [db]}
          a: {image: busybox}
          b: {image: busybox}
          c: {image: busybox}
    """
    engine = FakeEngine()
    Orchestrator(engine, load(tmp_path, stack)).up()  # type: ignore[arg-type]
    batches: list[list[str]] = []
    original = engine.stop_containers

    def recording(containers: list[ContainerInfo], *args: object, **kwargs: object) -> Any:
        batches.append(sorted(c.name for c in containers))
        return original(containers, *args, **kwargs)  # type: ignore[arg-type]

    engine.stop_containers = recording  # type: ignore[method-assign,assignment]
    Orchestrator(engine, load(tmp_path, stack)).down(DownOptions())  # type: ignore[arg-type]
    assert ["batch-a-1", "batch-b-1", "batch-c-1"] in batches
    assert batches.index(["batch-web-1"]) < batches.index(["batch-db-1"])
    assert engine.list_containers() == []
