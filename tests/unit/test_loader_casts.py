"""Values the schema allows as a string or a boolean/number are cast after interpolation, as
compose-go's interpolation type-cast table does; a value that does not convert fails the load
with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.service_runtime import healthcheck

STACK = """services:
  a:
    image: x
    cpus: "${CPUS:-0.5}"
    init: "true"
    healthcheck:
      test: ["CMD", "true"]
      disable: "${DISABLE:-false}"
      retries: "${RETRIES:-3}"
    ulimits:
      nofile: "1024"
      nproc: {soft: "10", hard: "20"}
    ports:
      - target: "80"
    deploy:
      replicas: "2"
      resources:
        limits: {cpus: "1.5", pids: "100"}
    blkio_config:
      weight: "300"
networks:
  n:
    external: "${EXT:-false}"
"""


def _load(tmp_path: Path, environ: dict[str, str] | None = None) -> Project:
    (tmp_path / "compose.yaml").write_text(STACK)
    return load_project(LoadOptions(cwd=tmp_path, project_name="t", environ=environ or {}))


def test_string_values_are_cast(tmp_path: Path) -> None:
    raw = _load(tmp_path).services["a"].raw
    assert raw["cpus"] == 0.5
    assert raw["init"] is True
    assert raw["healthcheck"]["disable"] is False
    assert raw["healthcheck"]["retries"] == 3
    assert raw["ulimits"] == {"nofile": 1024, "nproc": {"soft": 10, "hard": 20}}
    assert raw["ports"][0]["target"] == 80
    assert raw["deploy"]["replicas"] == 2
    assert raw["deploy"]["resources"]["limits"] == {"cpus": 1.5, "pids": 100}
    assert raw["blkio_config"]["weight"] == 300


def test_interpolated_false_keeps_the_healthcheck(tmp_path: Path) -> None:
    project = _load(tmp_path)
    check = healthcheck(project.services["a"], project.services["a"].raw)
    assert check is not None and check.test == ("CMD", "true")
    project = _load(tmp_path, {"DISABLE": "true"})
    check = healthcheck(project.services["a"], project.services["a"].raw)
    assert check is not None and check.test == ("NONE",)


@pytest.mark.parametrize(("variable", "value", "key", "line", "expected"), [
    ("CPUS", "two", "services.a.cpus", 4,
     'failed to cast to expected type: strconv.ParseFloat: parsing "two": invalid syntax'),
    ("DISABLE", "maybe", "services.a.healthcheck.disable", 8,
     "failed to cast to expected type: invalid boolean: maybe"),
    ("RETRIES", "3x", "services.a.healthcheck.retries", 9,
     'failed to cast to expected type: strconv.Atoi: parsing "3x": invalid syntax'),
    ("EXT", "nope", "networks.n.external", 23, "invalid boolean: nope"),
])
def test_value_that_does_not_convert_names_file_line_and_key(
    tmp_path: Path, variable: str, value: str, key: str, line: int, expected: str
) -> None:
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, {variable: value})
    (problem,) = info.value.problems
    assert (problem.key, problem.line) == (key, line)
    assert problem.file == str(tmp_path / "compose.yaml")
    assert expected in problem.message
