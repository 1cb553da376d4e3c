"""Secrets and configs a service (or its build) uses must be defined, and a defined one must
say where its data comes from, as compose-go's consistency check requires."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions

STACK = """services:
  a:
    image: x
    build:
      context: .
      secrets: [bs]
    secrets:
      - s
      - nos
      - {source: s2, target: /x}
    configs: [c, noc]
secrets:
  s: {file: ./s}
  s2: {}
  ext: {external: true}
configs:
  c: {content: hello}
  empty: {}
"""


def test_undefined_and_empty_secrets_and_configs(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(STACK)
    with pytest.raises(ComposeFileError) as info:
        load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    found = {(p.key, p.line, p.message) for p in info.value.problems}
    assert found == {
        ("services.a.build.secrets[0]", 6,
         'service "a" refers to undefined build secret bs: invalid compose project'),
        ("services.a.secrets[1]", 9,
         'service "a" refers to undefined secret nos: invalid compose project'),
        ("services.a.configs[1]", 11,
         'service "a" refers to undefined config noc: invalid compose project'),
        ("secrets.s2", 14,
         'secret "s2" must declare either `file` or `environment`: invalid compose project'),
        ("configs.empty", 18, 'config "empty" must declare either `file`, `environment` or '
         "`content`: invalid compose project"),
    }
    assert all(p.file == str(tmp_path / "compose.yaml") for p in info.value.problems)
