"""`env_file` entries with `format: raw` are read as `docker run --env-file` reads them (no
interpolation, no quotes); an unknown format is refused, naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions, Project

RAW = """# comment
  A='quoted' # not a comment
B=${HOME}/x
C=a=b
FROM_ENV
MISSING
"""


def _load(tmp_path: Path, env_file: str) -> Project:
    (tmp_path / "vars.env").write_text(RAW)
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  a:\n    image: x\n    env_file:\n{env_file}")
    return load_project(LoadOptions(cwd=tmp_path, project_name="t",
                                    environ={"FROM_ENV": "env", "HOME": "/home/u"}))


def test_raw_format_keeps_values_as_written(tmp_path: Path) -> None:
    env = _load(tmp_path, "      - {path: vars.env, format: raw}\n").services["a"].environment
    assert env == {"A": "'quoted' # not a comment", "B": "${HOME}/x", "C": "a=b",
                   "FROM_ENV": "env"}


def test_default_format_still_interpolates(tmp_path: Path) -> None:
    env = _load(tmp_path, "      - {path: vars.env}\n").services["a"].environment
    assert env["A"] == "quoted"
    assert env["B"] == "/home/u/x"


def test_unknown_format_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, "      - path: vars.env\n        format: toml\n")
    (problem,) = info.value.problems
    assert problem.key == "services.a.env_file[0].format"
    assert (problem.file, problem.line) == (str(tmp_path / "compose.yaml"), 6)
    assert 'unsupported env_file format "toml"' in problem.message


def test_raw_format_bad_variable_name(tmp_path: Path) -> None:
    (tmp_path / "bad.env").write_text("OK=1\nBAD NAME=2\n")
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, "      - {path: bad.env, format: raw}\n")
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == (str(tmp_path / "bad.env"), 2)
    assert "variable 'BAD NAME' contains whitespaces" in problem.message
