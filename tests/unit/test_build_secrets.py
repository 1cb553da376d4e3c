"""Build secrets from a service's `build.secrets` and from `--secret` (pure: nothing is read
until a build step mounts a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.build_secrets import parse_secret_flag
from compose.errors import ComposeError
from compose.image_policy import build_options
from compose.loader import load_project
from compose.model import LoadOptions
from engine.api import BuildSecret

STACK = """services:
  app:
    build:
      context: .
      secrets:
        - token
        - {source: api, target: api_key, mode: 0400}
        - unset
  ext:
    build:
      context: .
      secrets: [outside]
secrets:
  token: {file: ./token.txt}
  api: {environment: API_TOKEN}
  unset: {environment: NOT_SET_ANYWHERE}
  outside: {external: true}
"""


def _project(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "compose.yaml").write_text(STACK)
    (tmp_path / ".env").write_text("API_TOKEN=from-dotenv\n")
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def test_service_build_secrets_by_id(tmp_path: Path) -> None:
    project = _project(tmp_path)
    warnings: list[str] = []
    options = build_options(project, project.services["app"], report=warnings.append)
    by_id = {s.id: s for s in options.secrets}
    assert set(by_id) == {"token", "api_key"}  # an unset variable provides nothing
    assert by_id["token"].file == tmp_path / "token.txt"
    assert by_id["api_key"].read() == b"from-dotenv"
    assert "from-dotenv" not in repr(options)  # values never show in a repr
    assert warnings == ["service app: build secret api: uid, gid and mode are ignored"
                        " (the Dockerfile's --mount=type=secret sets them)"]
    given = BuildSecret("token", value=b"from the command line")
    merged = build_options(project, project.services["app"], secrets=(given,))
    assert {s.id: s for s in merged.secrets}["token"] is given
    with pytest.raises(ComposeError, match=r"service ext: build\.secrets only supports"
                       r" environment or file-based secrets: 'outside'"):
        build_options(project, project.services["ext"])


def test_secret_flag_forms(tmp_path: Path) -> None:
    environ = {"TOKEN": "t0k", "id2": "v2"}
    file_secret = parse_secret_flag("id=a,src=rel/file", environ, tmp_path)
    assert file_secret == BuildSecret("a", file=tmp_path / "rel/file")
    assert parse_secret_flag("id=b,env=TOKEN", environ, tmp_path) == BuildSecret(
        "b", value=b"t0k")
    assert parse_secret_flag("id=c,type=env,src=TOKEN", environ, tmp_path) == BuildSecret(
        "c", value=b"t0k")
    assert parse_secret_flag("id=id2", environ, tmp_path) == BuildSecret("id2", value=b"v2")
    assert parse_secret_flag("id=f", environ, tmp_path) == BuildSecret("f", file=tmp_path / "f")
    assert parse_secret_flag("id=d,env=MISSING", environ, tmp_path) is None
    for bad in ("id=x,bogus=1", "id=x,type=ssh", "novalue", "src="):
        with pytest.raises(ComposeError, match="invalid --secret"):
            parse_secret_flag(bad, environ, tmp_path)
