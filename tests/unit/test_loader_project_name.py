"""Project name precedence, validation and normalization."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions
from compose.project_name import normalize_project_name, validate_project_name


def _stack(directory: Path, name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    header = f"name: {name}\n" if name else ""
    (directory / "compose.yaml").write_text(header + "services:\n  web:\n    image: x\n")
    return directory


def test_directory_name_normalized(tmp_path: Path) -> None:
    d = _stack(tmp_path / "My App.v2")
    assert load_project(LoadOptions(cwd=d)).name == "myappv2"


def test_name_key_beats_directory(tmp_path: Path) -> None:
    d = _stack(tmp_path / "dir", "fromfile")
    assert load_project(LoadOptions(cwd=d)).name == "fromfile"


def test_env_beats_name_key(tmp_path: Path) -> None:
    d = _stack(tmp_path / "dir", "fromfile")
    opts = LoadOptions(cwd=d, environ={"COMPOSE_PROJECT_NAME": "fromenv"})
    assert load_project(opts).name == "fromenv"


def test_dotenv_name(tmp_path: Path) -> None:
    d = _stack(tmp_path / "dir", "fromfile")
    (d / ".env").write_text("COMPOSE_PROJECT_NAME=fromdotenv\n")
    assert load_project(LoadOptions(cwd=d)).name == "fromdotenv"


def test_process_env_beats_dotenv(tmp_path: Path) -> None:
    d = _stack(tmp_path / "dir")
    (d / ".env").write_text("COMPOSE_PROJECT_NAME=fromdotenv\n")
    opts = LoadOptions(cwd=d, environ={"COMPOSE_PROJECT_NAME": "fromenv"})
    assert load_project(opts).name == "fromenv"


def test_flag_beats_everything(tmp_path: Path) -> None:
    d = _stack(tmp_path / "dir", "fromfile")
    opts = LoadOptions(cwd=d, project_name="flag", environ={"COMPOSE_PROJECT_NAME": "env"})
    project = load_project(opts)
    assert project.name == "flag"
    assert project.networks["default"].name == "flag_default"


def test_name_visible_to_interpolation(tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    (d / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n    container_name: ${COMPOSE_PROJECT_NAME}-web\n")
    assert load_project(LoadOptions(cwd=d, project_name="p")).services["web"].container_name \
        == "p-web"


@pytest.mark.parametrize("bad", ["-x", "_x", "Upper", "a.b", "a b"])
def test_invalid_explicit_name(tmp_path: Path, bad: str) -> None:
    d = _stack(tmp_path / "dir")
    with pytest.raises(ComposeError, match="is not a valid project name"):
        load_project(LoadOptions(cwd=d, project_name=bad))


def test_empty_explicit_name() -> None:
    with pytest.raises(ComposeError, match="project name must not be empty"):
        validate_project_name("")


def test_normalize() -> None:
    assert normalize_project_name("__My-Proj_1!") == "my-proj_1"
    assert normalize_project_name("...") == ""
