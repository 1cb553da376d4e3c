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
