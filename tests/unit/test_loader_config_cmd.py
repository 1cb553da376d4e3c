"""`pycompose config` through the real CLI app (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from compose.cli.app import app
from compose.errors import ComposeError

STACK = """
services:
  web:
    image: nginx
    volumes: [data:/data]
  job:
    build: .
    profiles: [batch]
volumes:
  data: {}
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(STACK)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    monkeypatch.delenv("COMPOSE_FILE", raising=False)
    monkeypatch.delenv("COMPOSE_PROFILES", raising=False)
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{result.output}{result.exception!r}"
    return result.stdout


def test_yaml_default(stack: Path) -> None:
    out = yaml.safe_load(_run("-p", "demo", "config"))
    assert out["name"] == "demo"
    assert out["networks"]["default"]["name"] == "demo_default"
    assert out["volumes"]["data"]["name"] == "demo_data"
    assert "command" not in out["services"]["web"]


def test_json(stack: Path) -> None:
    out = json.loads(_run("-p", "demo", "config", "--format", "json"))
    assert out["services"]["web"]["command"] is None
    assert out["services"]["web"]["volumes"][0] == {
        "type": "volume", "source": "data", "target": "/data", "volume": {}}


def test_listings(stack: Path) -> None:
    assert _run("-p", "demo", "config", "--services") == "web\n"
    assert _run("-p", "demo", "--profile", "batch", "config", "--services") == "web\njob\n"
    assert _run("-p", "demo", "config", "--volumes") == "data\n"
    assert _run("-p", "demo", "config", "--profiles") == "batch\n"
    assert _run("-p", "demo", "--profile", "batch", "config", "--images") == "nginx\ndemo-job\n"
    assert _run("-p", "demo", "config", "-q") == ""


def test_error_is_compose_error(stack: Path) -> None:
    (stack / "compose.yaml").write_text("services:\n  web:\n    image: [1]\n")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ComposeError)
    assert "compose.yaml:3" in str(result.exception)


def test_config_output_reads_back_as_the_same_project(tmp_path: Path) -> None:
    """A literal `$` is printed `$$`, as docker compose prints it: feeding `config`'s output
    back gives the same values (`$HOME` stays literal for the container)."""
    from compose.config_render import render_project
    from compose.loader import load_project
    from compose.model import LoadOptions

    (tmp_path / "compose.yaml").write_text(
        'services:\n  a:\n    image: x\n    command: echo $$HOME\n'
    )
    first = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    text = render_project(first)
    assert "$$HOME" in text
    (tmp_path / "compose.yaml").write_text(text)
    again = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert again.raw["services"]["a"]["command"] == ["echo", "$HOME"]


SELECTION = """
services:
  web:
    image: nginx
    depends_on: [db]
    networks: [front, back]
  db:
    image: postgres
    volumes: [data:/data]
    networks: [back]
  other:
    image: x
    volumes: [other:/x]
  tool:
    image: t
    profiles: [tools]
    links: [db]
networks:
  front: {}
  back: {}
volumes:
  data: {}
  other: {}
"""


def test_config_services_restricts_to_them_and_their_dependencies(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    (stack / "compose.yaml").write_text(SELECTION)
    out = yaml.safe_load(_run("-p", "demo", "config", "web"))
    assert sorted(out["services"]) == ["db", "web"]
    assert sorted(out["networks"]) == ["back", "front"]
    assert list(out["volumes"]) == ["data"]
    out = yaml.safe_load(_run("-p", "demo", "config", "db"))
    assert list(out["services"]) == ["db"]
    assert list(out["networks"]) == ["back"]
    # a service of an inactive profile is enabled by naming it
    out = yaml.safe_load(_run("-p", "demo", "config", "tool"))
    assert sorted(out["services"]) == ["db", "tool"]
    assert _run("-p", "demo", "config", "--images", "tool") == "postgres\nt\n"


def test_config_unknown_service(stack: Path) -> None:
    result = CliRunner().invoke(app, ["-p", "demo", "config", "nope"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ComposeError)
    assert "no such service: nope" in str(result.exception)


FLAGS = """
services:
  web:
    image: busybox
    ports: ["${PORT:-8080}:80"]
    command: echo $$HOME
    networks: [front]
    volumes: [data:/data]
networks:
  front: {}
  unused: {}
volumes:
  data: {}
  spare: {}
"""


def test_unused_networks_and_volumes_are_left_out_unless_all_resources(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose v2.27+ (WithoutUnnecessaryResources unless --all-resources)."""
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    (stack / "compose.yaml").write_text(FLAGS)
    out = yaml.safe_load(_run("-p", "demo", "config"))
    assert list(out["networks"]) == ["front"]
    assert list(out["volumes"]) == ["data"]
    assert _run("-p", "demo", "config", "--volumes") == "data\n"
    assert _run("-p", "demo", "config", "--networks") == "front\n"
    out = yaml.safe_load(_run("-p", "demo", "--all-resources", "config"))
    assert sorted(out["networks"]) == ["front", "unused"]
    assert sorted(out["volumes"]) == ["data", "spare"]
    assert _run("-p", "demo", "--all-resources", "config", "--volumes") == "data\nspare\n"


def test_no_interpolate_prints_variables_as_written(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    monkeypatch.setenv("PORT", "9999")
    (stack / "compose.yaml").write_text(FLAGS)
    text = _run("-p", "demo", "config", "--no-interpolate")
    out = yaml.safe_load(text)
    assert out["services"]["web"]["ports"] == ["${PORT:-8080}:80"]
    assert out["services"]["web"]["command"] == "echo $$HOME"  # not escaped a second time
    assert list(out["volumes"]) == ["data"]
    assert "9999" not in text
    # without the flag, substituted
    assert yaml.safe_load(_run("-p", "demo", "config"))["services"]["web"]["ports"][0][
        "published"] == "9999"


def test_no_normalize_keeps_short_syntax(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    monkeypatch.delenv("PORT", raising=False)
    (stack / "compose.yaml").write_text(FLAGS)
    out = json.loads(_run("-p", "demo", "config", "--no-normalize", "--format", "json"))
    assert out["services"]["web"]["ports"] == ["8080:80"]
    assert out["services"]["web"]["volumes"] == ["data:/data"]
    assert out["services"]["web"]["command"] == "echo $$HOME"
    assert out["networks"] == {"front": {}}


def test_no_consistency_prints_a_project_with_dangling_references(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    (stack / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n    networks: [nowhere]\n    depends_on: [ghost]\n")
    result = CliRunner().invoke(app, ["-p", "demo", "config"])
    assert result.exit_code != 0
    assert "undefined network nowhere" in str(result.exception)
    out = yaml.safe_load(_run("-p", "demo", "config", "--no-consistency"))
    assert list(out["services"]["web"]["networks"]) == ["nowhere"]
    assert list(out["services"]["web"]["depends_on"]) == ["ghost"]


def test_output_writes_the_file(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    assert _run("-p", "demo", "config", "-o", str(stack / "out.yaml")) == ""
    assert yaml.safe_load((stack / "out.yaml").read_text())["name"] == "demo"


def test_hash_prints_a_sorted_line_per_service_and_follows_the_config(
    stack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    monkeypatch.setenv("PYCOMPOSE_ROOT", str(tmp_path_factory.mktemp("root")))
    (stack / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n  db:\n    image: y\n")
    lines = _run("-p", "demo", "config", "--hash", "*").splitlines()
    assert [line.split()[0] for line in lines] == ["db", "web"]
    assert all(len(line.split()[1]) == 64 for line in lines)
    web = _run("-p", "demo", "config", "--hash", "web")
    assert web == lines[1] + "\n"
    (stack / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n    environment: {A: '1'}\n  db:\n    image: y\n")
    assert _run("-p", "demo", "config", "--hash", "web") != web
    assert _run("-p", "demo", "config", "--hash", "db") == lines[0] + "\n"
    result = CliRunner().invoke(app, ["-p", "demo", "config", "--hash", "web,nope"])
    assert "no such service: nope" in str(result.exception)
