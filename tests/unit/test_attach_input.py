"""`attach`'s input side: docker's `--detach-keys` syntax, the detach sequence spotted across
reads without eating what only looked like its start, and which container a service names
(docker compose's getSpecifiedContainer). Output, stdin and exit codes run for real in
tests/e2e/test_attach_cmd.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from compose import labels as L
from compose.cli.app import build_app
from compose.cli.detach_keys import DetachKeysError, DetachScanner, parse_detach_keys
from compose.cli.service_container import ServiceNotRunningError, pick
from compose.errors import ComposeError
from engine.api import ContainerInfo, ContainerSpec, ContainerStatus
from engine.containers import ContainerRecord, ContainerState
from engine.errors import InvalidStateError
from tests.unit.fake_engine import FakeEngine


@pytest.mark.parametrize(("text", "keys"), [
    ("ctrl-p,ctrl-q", b"\x10\x11"),
    ("ctrl-a,a", b"\x01a"),
    ("CTRL-Z", b"\x1a"),
    ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", bytes([0, 27, 28, 29, 30, 31])),
    ("x", b"x"),
])
def test_detach_keys_as_docker_reads_them(text: str, keys: bytes) -> None:
    assert parse_detach_keys(text) == keys


@pytest.mark.parametrize("text", ["", "ctrl-1", "ctrl-pq", "alt-x", "ab", "ctrl-p,,ctrl-q"])
def test_bad_detach_keys_are_refused_by_name(text: str) -> None:
    with pytest.raises(DetachKeysError, match="invalid detach keys"):
        parse_detach_keys(text)


def test_the_sequence_detaches_even_split_across_reads() -> None:
    scanner = DetachScanner(b"\x10\x11")
    assert scanner.feed(b"abc\x10") == (b"abc", False)
    assert scanner.feed(b"\x11ignored") == (b"", True)


def test_a_broken_off_start_is_passed_on() -> None:
    scanner = DetachScanner(b"\x10\x11")
    assert scanner.feed(b"\x10x") == (b"\x10x", False)
    assert scanner.feed(b"\x10\x10") == (b"\x10", False)  # the second may still begin it
    assert scanner.feed(b"\x11") == (b"", True)


@pytest.mark.parametrize(("config", "keys"), [
    (None, b"\x10\x11"),  # no config file: docker's default
    ('{"detachKeys": "ctrl-a,x"}', b"\x01x"),
    ('{"detachKeys": "ctrl-1"}', b"\x10\x11"),  # docker's CLI warns and uses the default
    ("not json", b"\x10\x11"),
])
def test_run_and_exec_take_the_docker_config_files_detach_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str | None, keys: bytes
) -> None:
    from compose.cli.detach_keys import configured_detach_keys

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    if config is not None:
        (tmp_path / "config.json").write_text(config)
    assert configured_detach_keys() == keys


def _info(number: int, status: ContainerStatus, oneoff: bool = False) -> ContainerInfo:
    name = f"p-web-run-{number}" if oneoff else f"p-web-{number}"
    labels = {L.SERVICE: "web", L.NUMBER: str(number), L.ONEOFF: "True" if oneoff else "False"}
    record = ContainerRecord(f"{name}-id", name, "", "sha256:x",
                             ContainerSpec(name=name, image="busybox", labels=labels))
    return ContainerInfo(record, ContainerState(status=status), Path("/dev/null"))


def test_the_lowest_running_replica_is_picked_a_service_one_before_a_run() -> None:
    infos = [_info(2, ContainerStatus.RUNNING), _info(1, ContainerStatus.RUNNING, oneoff=True),
             _info(1, ContainerStatus.RUNNING), _info(3, ContainerStatus.EXITED)]
    assert pick(infos, "web", 0).name == "p-web-1"
    assert pick(infos, "web", 2).name == "p-web-2"


def test_no_running_container_is_docker_composes_error() -> None:
    infos = [_info(1, ContainerStatus.EXITED), _info(2, ContainerStatus.RUNNING)]
    with pytest.raises(ServiceNotRunningError) as caught:
        pick(infos[:1], "web", 0)
    assert str(caught.value) == 'service "web" is not running'
    with pytest.raises(ServiceNotRunningError) as caught:
        pick(infos, "web", 3)
    assert str(caught.value) == 'service "web" is not running container #3'


def test_a_stdin_that_cannot_be_attached_is_named_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "compose.yaml").write_text("name: at\nservices:\n  web: {image: busybox}\n")
    monkeypatch.chdir(tmp_path)
    engine = FakeEngine()
    spec = ContainerSpec(name="at-web-1", image="busybox", stdin_open=True, labels={
        L.PROJECT: "at", L.SERVICE: "web", L.NUMBER: "1", L.ONEOFF: "False"})
    engine.start_container(engine.create_container(spec).id)

    def old_container(_name: str) -> int:
        raise InvalidStateError("container at-web-1 has no attachable stdin: No such file",
                                hint="restart it to give it one")

    monkeypatch.setattr(engine, "open_running_stdin", old_container)
    monkeypatch.setattr("engine.api.Engine", lambda root=None: engine)
    result = CliRunner().invoke(build_app(), ["attach", "web"])
    assert isinstance(result.exception, ComposeError)
    assert str(result.exception) == (
        'service "web": container at-web-1 has no attachable stdin: No such file')
    assert result.exception.hint == "restart it to give it one, or attach with --no-stdin"
