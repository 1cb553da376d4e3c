"""`develop.watch` in the stack file: validated at load with file, line and key, printed by
`config` in its long shape, and read into typed rules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from compose.config_render import render_project
from compose.develop import ExecHook, WatchAction, watch_rules
from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions, Project


def _load(tmp_path: Path, text: str) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=tmp_path, project_name="t", environ={}))


def _problems(tmp_path: Path, text: str) -> dict[str | None, tuple[int | None, str]]:
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, text)
    return {p.key: (p.line, p.message) for p in info.value.problems}


def test_rules_are_read_in_long_shape(tmp_path: Path) -> None:
    project = _load(tmp_path, """
        services:
          web:
            image: busybox
            develop:
              watch:
                - path: ./src
                  action: sync
                  target: /app
                  ignore: "*.tmp"
                  include: ["*.py"]
                  initial_sync: true
                - path: ./hooks
                  action: sync+exec
                  target: /hooks
                  exec:
                    command: sh -c 'echo done'
                    user: nobody
                    working_dir: /hooks
                    environment: [MODE=dev]
                - path: requirements.txt
                  action: rebuild
    """)
    sync, hook, rebuild = watch_rules(project.services["web"])
    assert sync.path == str(tmp_path / "src")  # relative to the project directory
    assert (sync.action, sync.target) == (WatchAction.SYNC, "/app")
    assert (sync.ignore, sync.include, sync.initial_sync) == (("*.tmp",), ("*.py",), True)
    assert hook.exec == ExecHook(("sh", "-c", "echo done"), "nobody", False, "/hooks",
                                 {"MODE": "dev"})
    assert (rebuild.action, rebuild.target) == (WatchAction.REBUILD, None)


def test_config_prints_the_normalized_rules(tmp_path: Path) -> None:
    project = _load(tmp_path, """
        services:
          web:
            image: busybox
            develop:
              watch:
                - {path: ./src, action: sync+restart, target: /app, ignore: node_modules/,
                   initial_sync: false, include: []}
    """)
    printed = yaml.safe_load(render_project(project))
    assert printed["services"]["web"]["develop"] == {"watch": [{
        "action": "sync+restart", "ignore": ["node_modules/"], "path": f"{tmp_path}/src",
        "target": "/app",
    }]}


@pytest.mark.parametrize("action", ["sync", "sync+restart", "sync+exec"])
def test_a_sync_action_needs_a_target(tmp_path: Path, action: str) -> None:
    problems = _problems(tmp_path, f"""
        services:
          web:
            image: busybox
            develop:
              watch:
                - path: ./src
                  action: {action}
                  exec: {{command: "true"}}
    """)
    line, message = problems["services.web.develop.watch[0]"]
    assert line == 7
    assert "target is required for non-rebuild actions" in message


def test_sync_exec_needs_a_command(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """
        services:
          web:
            image: busybox
            develop:
              watch:
                - {path: ./src, action: sync+exec, target: /app}
    """)
    assert problems["services.web.develop.watch[0]"] == (
        7, 'can\'t watch with action "sync+exec" on service web without a command')


def test_unknown_action_and_keys_are_schema_errors(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """
        services:
          web:
            image: busybox
            develop:
              watch:
                - path: ./src
                  action: copy
                  target: /app
                - path: ./src
                  action: sync
                  target: /app
                  targte: /x
                - action: rebuild
    """)
    line, message = problems["services.web.develop.watch[0].action"]
    assert line == 8 and "must be one of rebuild, sync, restart, sync+restart, sync+exec" in message
    assert any("targte" in m for _, m in problems.values())
    assert any("path" in m and "required" in m for _, m in problems.values())
