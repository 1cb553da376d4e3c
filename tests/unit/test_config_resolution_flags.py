"""`config --no-path-resolution` and `--no-env-resolution`: compose-go's loader options that
keep relative paths and env_file entries as the file wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from compose.cli.app import app

STACK = """
services:
  web:
    image: busybox
    build: ./ctx
    env_file: [./app.env, {path: ./missing.env, required: false}]
    environment:
      FROM_FILE_TOO: given
      BARE:
    volumes: [./data:/data, named:/n]
    secrets: [token]
secrets:
  token:
    file: ./token.txt
volumes:
  named: {}
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(STACK)
    (tmp_path / "app.env").write_text("FROM_FILE=1\nFROM_FILE_TOO=file\n")
    monkeypatch.chdir(tmp_path)
    for name in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BARE", "from-shell")
    return tmp_path


def _config(*flags: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["-p", "demo", "config", *flags])
    assert result.exit_code == 0, f"{result.output}{result.exception!r}"
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def _web(config: dict[str, object]) -> dict[str, object]:
    services = config["services"]
    assert isinstance(services, dict)
    web = services["web"]
    assert isinstance(web, dict)
    return web


def test_by_default_paths_are_absolute_and_env_files_read(stack: Path) -> None:
    config = _config()
    web = _web(config)
    assert web["build"] == {"context": str(stack / "ctx"), "dockerfile": "Dockerfile"}
    assert web["environment"] == {
        "FROM_FILE": "1", "FROM_FILE_TOO": "given", "BARE": "from-shell",
    }
    assert "env_file" not in web
    assert web["volumes"][0]["source"] == str(stack / "data")  # type: ignore[index]


def test_no_path_resolution_keeps_relative_paths_as_written(stack: Path) -> None:
    config = _config("--no-path-resolution")
    web = _web(config)
    assert web["build"] == {"context": "./ctx", "dockerfile": "Dockerfile"}
    assert web["volumes"][0] == {  # type: ignore[index]
        "type": "bind", "source": "./data", "target": "/data",
        "bind": {"create_host_path": True},
    }
    assert config["secrets"]["token"]["file"] == "./token.txt"  # type: ignore[index]
    assert web["environment"]["FROM_FILE"] == "1"  # type: ignore[index]  # still read


def test_no_env_resolution_keeps_env_files_unread_and_bare_keys_unset(stack: Path) -> None:
    web = _web(_config("--no-env-resolution"))
    assert web["env_file"] == [
        {"path": str(stack / "app.env"), "required": True},
        {"path": str(stack / "missing.env"), "required": False},
    ]
    assert web["environment"] == {"FROM_FILE_TOO": "given", "BARE": None}


def test_both_flags_together(stack: Path) -> None:
    web = _web(_config("--no-path-resolution", "--no-env-resolution"))
    assert web["env_file"] == [
        {"path": "./app.env", "required": True}, {"path": "./missing.env", "required": False},
    ]


def test_an_env_file_that_is_missing_is_no_error_without_env_resolution(stack: Path) -> None:
    (stack / "app.env").unlink()
    assert CliRunner().invoke(app, ["-p", "demo", "config"]).exit_code != 0
    assert _web(_config("--no-env-resolution"))["env_file"]


def test_lock_image_digests_prints_an_override_of_pinned_images_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = "sha256:" + "b" * 64
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web: {image: busybox, ports: ['8080:80'], environment: {A: '1'}}\n"
        "  built: {build: .}\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        "compose.cli.config_cmd._pinned", lambda project: {"web": f"busybox:latest@{digest}"}
    )
    assert _config("--lock-image-digests") == {
        "services": {"web": {"image": f"busybox:latest@{digest}"}, "built": {}},
    }
    result = CliRunner().invoke(app, ["-p", "demo", "config", "--lock-image-digests",
                                      "--format", "json"])
    assert result.exit_code == 0
    assert result.stdout.startswith('{\n  "services": {')
