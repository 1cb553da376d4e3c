"""`compose.Stack` without the kernel: loading, names, readiness rules, ports, error text."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose import Stack
from compose.errors import ComposeError, ServiceNotFoundError
from compose.stack import _health, _published_port, _readiness
from engine.api import ContainerInfo
from engine.containers import ContainerRecord, ContainerSpec, ContainerState, ContainerStatus
from engine.ports import PublishedPort


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    directory = tmp_path / "My App"
    directory.mkdir()
    path = directory / "compose.yaml"
    path.write_text(
        "services:\n"
        "  web:\n    image: busybox:${TAG:-latest}\n"
        "  db:\n    image: busybox\n    profiles: [debug]\n"
    )
    return path


def test_loads_the_project_like_the_cli(stack_file: Path, tmp_path: Path) -> None:
    stack = Stack([stack_file], root=tmp_path / "root")
    assert stack.project_name == "myapp"  # the directory name, normalized like compose does
    assert stack.services == ("web",)  # profile-only services stay off
    assert stack.project.services["web"].image == "busybox:latest"


def test_env_profiles_and_name_are_honoured(stack_file: Path, tmp_path: Path) -> None:
    stack = Stack(
        str(stack_file), project_name="given", env={"TAG": "1.36"}, profiles=["debug"],
        root=tmp_path,
    )
    assert stack.project_name == "given"
    assert stack.project.services["web"].image == "busybox:1.36"
    assert set(stack.services) == {"web", "db"}


def test_bad_stack_file_fails_at_construction(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  web:\n    image: busybox\n    depends_on: [ghost]\n")
    with pytest.raises(ComposeError, match="ghost"):
        Stack([path], root=tmp_path)
    with pytest.raises(ComposeError):
        Stack([tmp_path / "missing.yaml"], root=tmp_path)


def test_unknown_service_names_the_known_ones(stack_file: Path, tmp_path: Path) -> None:
    stack = Stack([stack_file], root=tmp_path)
    with pytest.raises(ServiceNotFoundError, match=r"no such service: wbe \(services: web\)"):
        stack.service("wbe")


def test_down_command_names_root_project_and_files(
    stack_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYCOMPOSE_ROOT", raising=False)
    stack = Stack([stack_file], project_name="p1", root=tmp_path / "a root")
    assert stack.down_command() == (
        f"PYCOMPOSE_ROOT='{tmp_path}/a root' pycompose -p p1 -f '{stack_file}' down -v"
    )
    monkeypatch.setenv("PYCOMPOSE_ROOT", "/srv/pc")
    assert Stack([stack_file], project_name="p1").down_command().startswith(
        "PYCOMPOSE_ROOT=/srv/pc pycompose -p p1"
    )


def _info(state: ContainerState, **spec: object) -> ContainerInfo:
    record = ContainerRecord(
        id="a" * 64,
        name="p-web-1",
        created="",
        image_id="x",
        spec=ContainerSpec(name="p-web-1", image="busybox", **spec),  # type: ignore[arg-type]
    )
    return ContainerInfo(record=record, state=state, log_path=Path("/nonexistent"))


@pytest.mark.parametrize(
    ("state", "ready", "failed", "detail"),
    [
        (ContainerState(status=ContainerStatus.RUNNING), True, False, "running"),
        (ContainerState(status=ContainerStatus.CREATED), False, False, "created"),
        (ContainerState(status=ContainerStatus.EXITED, exit_code=0), True, False, "code 0"),
        (ContainerState(status=ContainerStatus.EXITED, exit_code=2), False, True, "code 2"),
        (
            ContainerState(status=ContainerStatus.RUNNING, health_status="starting"),
            False, False, "health: starting",
        ),
        (
            ContainerState(status=ContainerStatus.RUNNING, health_status="healthy"),
            True, False, "healthy",
        ),
        (
            ContainerState(
                status=ContainerStatus.RUNNING,
                health_status="unhealthy",
                health_log=[{"ExitCode": 1, "Output": "connection refused\n"}],
            ),
            False, True, "exit 1: connection refused",
        ),
    ],
)
def test_readiness_rules(state: ContainerState, ready: bool, failed: bool, detail: str) -> None:
    result = _readiness(_info(state))
    assert (result.ready, result.failed) == (ready, failed)
    assert detail in result.detail


def test_health_shows_the_last_three_probe_results() -> None:
    log = [{"ExitCode": i, "Output": f"probe {i}"} for i in range(5)]
    status, text = _health(
        _info(ContainerState(status=ContainerStatus.RUNNING, health_status="unhealthy",
                             health_log=log))
    )
    assert status == "unhealthy"
    assert text.splitlines() == ["  exit 2: probe 2", "  exit 3: probe 3", "  exit 4: probe 4"]


def test_published_port_lookup() -> None:
    state = ContainerState(
        status=ContainerStatus.RUNNING,
        ports=(
            PublishedPort("0.0.0.0", 40001, 80, "tcp"),
            PublishedPort("0.0.0.0", 40002, 53, "udp"),
        ),
    )
    info = _info(state)
    assert _published_port(info, 80, "tcp") == 40001
    assert _published_port(info, 53, "udp") == 40002
    assert _published_port(info, 53, "tcp") is None
    assert _published_port(info, 81, "tcp") is None
