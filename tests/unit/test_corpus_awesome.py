"""Smoke tests on docker/awesome-compose samples: `config --format json` must succeed and
its output must validate against the official compose-spec schema (a test-only oracle)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from compose.cli.app import app

CORPUS = Path("/work/shared/corpus/awesome-compose")
OFFICIAL_SCHEMA = Path("/work/shared/corpus/compose-spec/compose-spec.json")


def _samples() -> list[Any]:
    if not CORPUS.is_dir():
        return []
    files = sorted([*CORPUS.glob("*/compose.yaml"), *CORPUS.glob("*/compose.yml")])
    return [pytest.param(p.parent.name, p.name, id=p.parent.name) for p in files]


@pytest.fixture(scope="module")
def official() -> jsonschema.protocols.Validator:
    schema = json.loads(OFFICIAL_SCHEMA.read_text())
    # The official schema names draft-07 by a URL jsonschema does not know; say it plainly.
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize(("sample", "filename"), _samples())
def test_sample(
    sample: str, filename: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    official: jsonschema.protocols.Validator,
) -> None:
    for key in list(os.environ):
        if key.startswith("COMPOSE_"):
            monkeypatch.delenv(key)
    shutil.copytree(CORPUS / sample, tmp_path / sample)
    monkeypatch.chdir(tmp_path / sample)
    result = CliRunner().invoke(app, ["-f", filename, "config", "--format", "json"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    output = json.loads(result.stdout)
    assert output["name"] == sample.lower()
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in official.iter_errors(output)]
    assert not errors
