"""Table-driven cases taken from compose-go's tests (see /work/shared/corpus/README.md).

Each case runs `pycompose <args> config --format json` in-process (CliRunner) in a temp copy
of its folder, with a clean environment plus the case's `env`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from compose.cli.app import app

CORPUS = Path("/work/shared/corpus/compose-go")
CASES_FILE = CORPUS / "cases.json"

# Cases we cannot pass yet, with the precise reason; strict so a fix is noticed.
XFAIL: dict[str, str] = {}

_MISSING = object()


def _cases() -> list[Any]:
    if not CASES_FILE.is_file():
        return []
    data = json.loads(CASES_FILE.read_text())
    params = []
    for case in data["cases"]:
        marks = []
        if case["id"] in XFAIL:
            marks.append(pytest.mark.xfail(reason=XFAIL[case["id"]], strict=True))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def _split_path(path: str) -> list[str]:
    parts: list[str] = []
    current = ""
    i = 0
    while i < len(path):
        if path[i] == "\\" and i + 1 < len(path) and path[i + 1] == ".":
            current += "."
            i += 2
            continue
        if path[i] == ".":
            parts.append(current)
            current = ""
        else:
            current += path[i]
        i += 1
    parts.append(current)
    return parts


def _lookup(data: Any, path: str) -> Any:
    node = data
    for part in _split_path(path):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return _MISSING
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return _MISSING
            node = node[part]
        else:
            return _MISSING
    return node


def _subst(value: Any, directory: Path) -> Any:
    if isinstance(value, str):
        return value.replace("<DIR>", str(directory))
    if isinstance(value, list):
        return [_subst(v, directory) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, directory) for k, v in value.items()}
    return value


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("COMPOSE_") or key == "PYCOMPOSE_DEBUG":
            monkeypatch.delenv(key)


@pytest.mark.parametrize("case", _cases())
def test_case(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    # Copy the top-level folder so that relative references between cases' files still work.
    top = case["dir"].split("/")[0]
    shutil.copytree(CORPUS / top, tmp_path / top)
    workdir = tmp_path / case["dir"]
    monkeypatch.chdir(workdir)
    for key, value in case.get("env", {}).items():
        monkeypatch.setenv(key, value)
    # The expectations come from compose-go's loader tests, which keep every resource: docker
    # compose's CLI (v2.27+) leaves out the ones no service uses unless --all-resources.
    result = CliRunner().invoke(
        app, ["--all-resources", *case["args"], "config", "--format", "json"])
    if not case["valid"]:
        assert result.exit_code != 0, result.output
        if case.get("error_contains"):
            message = str(result.exception) if result.exception else result.output
            assert case["error_contains"] in message
        return
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    output = json.loads(result.stdout)
    for path, expected in case.get("expect", {}).items():
        got = _lookup(output, path)
        assert got is not _MISSING, f"{path} missing in {json.dumps(output, indent=1)}"
        assert got == _subst(expected, workdir), path
    for path in case.get("expect_absent", []):
        assert _lookup(output, path) is _MISSING, path
    for path, length in case.get("expect_len", {}).items():
        got = _lookup(output, path)
        assert got is not _MISSING and len(got) == length, path
