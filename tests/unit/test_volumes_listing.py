"""`volumes` and `volume ls` share docker's volume listing (table, JSON lines, Go template,
-q); `volumes` lists the project's volumes only, narrowed to what the named services'
running containers mount (docker compose's rules). Run through the CLI on a FakeEngine."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from compose import labels as L
from compose.cli.app import build_app
from compose.cli.volume_cmds import render_volumes
from compose.errors import ComposeError
from engine.api import ContainerSpec, MountKind, MountSpec
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: vols
    services:
      a: {image: busybox}
      b: {image: busybox}
      idle: {image: busybox}
"""


def _volume(name: str, **labels: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, driver="local", labels=labels,
                           mountpoint=Path(f"/root/volumes/{name}/_data"))


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(STACK))
    monkeypatch.chdir(tmp_path)
    fake = FakeEngine()
    volumes = [
        _volume("vols_data", **{L.PROJECT: "vols", L.VOLUME: "data"}),
        _volume("vols_cache", **{L.PROJECT: "vols", L.VOLUME: "cache"}),
        _volume("other_data", **{L.PROJECT: "other", L.VOLUME: "data"}),
        _volume("loose"),
    ]
    fake.volumes = SimpleNamespace(list=lambda: volumes, find=lambda n: None)  # type: ignore[assignment]
    for service, source in (("a", "vols_data"), ("b", "vols_cache")):
        spec = ContainerSpec(
            name=f"vols-{service}-1", image="busybox",
            labels={L.PROJECT: "vols", L.SERVICE: service, L.NUMBER: "1", L.ONEOFF: "False"},
            mounts=(MountSpec(MountKind.VOLUME, "/data", source),),
        )
        fake.start_container(fake.create_container(spec).id)
    monkeypatch.setattr("engine.api.Engine", lambda root=None: fake)
    yield fake


def _run(*args: str) -> tuple[int, str]:
    """Exit code and output; an error the CLI's table would print is added to the output."""
    result = CliRunner().invoke(build_app(), list(args))
    failure = result.exception if isinstance(result.exception, ComposeError) else None
    return result.exit_code, result.output + (f"Error: {failure}\n" if failure else "")


def test_the_table_lists_exactly_the_projects_volumes(engine: FakeEngine) -> None:
    code, out = _run("volumes")
    assert code == 0
    assert out.splitlines() == [
        "DRIVER    VOLUME NAME", "local     vols_data", "local     vols_cache"]


def test_services_narrow_it_to_what_their_running_containers_mount(engine: FakeEngine) -> None:
    assert _run("volumes", "-q", "b") == (0, "vols_cache\n")
    assert _run("volumes", "-q", "a", "b") == (0, "vols_data\nvols_cache\n")
    assert _run("volumes", "-q", "idle") == (0, "")
    engine.stop_container("vols-a-1")
    assert _run("volumes", "-q", "a") == (0, "")


def test_json_lines_and_templates_use_dockers_fields(engine: FakeEngine) -> None:
    code, out = _run("volumes", "--format", "json", "a")
    row = json.loads(out)
    assert code == 0 and row["Name"] == "vols_data" and row["Driver"] == "local"
    assert row["Labels"] == "com.docker.compose.project=vols,com.docker.compose.volume=data"
    assert row["Mountpoint"] == "/root/volumes/vols_data/_data" and row["Size"] == "N/A"
    assert _run("volumes", "--format", "{{.Name}}:{{.Scope}}", "b") == (0, "vols_cache:local\n")


def test_an_unknown_service_is_an_error_and_any_format_a_template(engine: FakeEngine) -> None:
    code, out = _run("volumes", "nope")
    assert code == 1 and "no such service: nope" in out
    # docker's formatter takes every --format but table/json as a Go template: a word is
    # printed once a volume, as `docker volume ls --format yaml` does
    assert _run("volumes", "--format", "yaml", "b") == (0, "yaml\n")


def test_volume_ls_prints_through_the_same_listing() -> None:
    volumes = [_volume("x" * 30), _volume("y")]
    table = render_volumes(volumes, "table", quiet=False).splitlines()  # type: ignore[arg-type]
    assert table[0] == "DRIVER    VOLUME NAME" and table[1] == "local     " + "x" * 30
    assert render_volumes(volumes, "json", quiet=True) == "x" * 30 + "\ny"  # type: ignore[arg-type]
    templated = render_volumes(volumes, "table {{.Name}}\t{{.Driver}}", False)  # type: ignore[arg-type]
    assert templated.splitlines()[0].split() == ["VOLUME", "NAME", "DRIVER"]
