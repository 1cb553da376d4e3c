"""Which files are read: -f, COMPOSE_FILE, search upwards, override files, not-found."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.discovery import discover
from compose.errors import ComposeFileNotFoundError
from compose.loader import load_project
from compose.model import LoadOptions

STACK = "services:\n  web:\n    image: nginx\n"


def test_finds_compose_yaml_and_override(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(STACK)
    (tmp_path / "compose.override.yaml").write_text("services:\n  web:\n    image: other\n")
    sources = discover((), {}, tmp_path, None)
    assert [Path(f).name for f in sources.files] == ["compose.yaml", "compose.override.yaml"]
    project = load_project(LoadOptions(cwd=tmp_path))
    assert project.services["web"].image == "other"


def test_searches_parent_directories(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(STACK)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    sources = discover((), {}, sub, None)
    assert sources.files == (str(tmp_path / "docker-compose.yml"),)
    assert sources.directory == tmp_path


def test_preference_order(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yaml").write_text(STACK)
    (tmp_path / "compose.yml").write_text(STACK)
    assert Path(discover((), {}, tmp_path, None).files[0]).name == "compose.yml"


def test_explicit_files_skip_override(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(STACK)
    (tmp_path / "compose.override.yaml").write_text(STACK)
    sources = discover(("base.yaml",), {}, tmp_path, None)
    assert sources.files == (str(tmp_path / "base.yaml"),)


def test_compose_file_env(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(STACK)
    (tmp_path / "b.yaml").write_text("services:\n  web:\n    image: b\n")
    env = {"COMPOSE_FILE": "a.yaml:b.yaml"}
    project = load_project(LoadOptions(cwd=tmp_path, environ=env))
    assert project.services["web"].image == "b"
    assert [p.name for p in project.config_files] == ["a.yaml", "b.yaml"]


def test_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileNotFoundError, match="no configuration file provided"):
        discover((), {}, tmp_path, None)


def test_missing_explicit_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileNotFoundError, match=r"nope\.yaml"):
        load_project(LoadOptions(files=("nope.yaml",), cwd=tmp_path))


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(STACK))
    project = load_project(LoadOptions(files=("-",), cwd=tmp_path, project_name="p"))
    assert project.services["web"].image == "nginx"
    assert project.working_dir == tmp_path


def test_several_standard_names_warn_which_one_is_used(tmp_path: Path) -> None:
    for name in ("compose.yaml", "docker-compose.yml", "compose.override.yml",
                 "docker-compose.override.yaml"):
        (tmp_path / name).write_text("services:\n  a: {image: x}\n")
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert project.warnings[:4] == (
        "Found multiple config files with supported names: "
        f"{tmp_path / 'compose.yaml'}, {tmp_path / 'docker-compose.yml'}",
        f"Using {tmp_path / 'compose.yaml'}",
        "Found multiple config files with supported names: "
        f"{tmp_path / 'compose.override.yml'}, {tmp_path / 'docker-compose.override.yaml'}",
        f"Using {tmp_path / 'compose.override.yml'}",
    )
    assert discover((), {}, tmp_path, None).files == (
        str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yml"))


def test_one_standard_name_no_warning(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a: {image: x}\n")
    assert load_project(LoadOptions(cwd=tmp_path, project_name="t")).warnings == ()
