"""`post_start` runs after the start and `pre_stop` before the stop (docker compose's
runHook), through the engine's exec; a failing hook fails the command with compose's words."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import Hook, LoadOptions
from compose.orchestrator import DownOptions, Orchestrator
from tests.unit.fake_engine import FakeEngine, Script

STACK = """
    name: hooks
    services:
      web:
        image: busybox
        post_start:
          - command: touch /data/started
            user: root
            environment: [A=1]
          - command: [echo, second]
        pre_stop:
          - command: touch /data/stopping
            privileged: "true"
      plain:
        image: busybox
"""


def _project(tmp_path: Path, text: str = STACK):  # type: ignore[no-untyped-def]
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def _actions(engine: FakeEngine, name: str) -> list[str]:
    return [action for _t, action, who in engine.timeline
            if who == name and (action in ("create", "start", "stop") or action.startswith("exec"))]


def test_hooks_are_typed_and_printed_in_long_form(tmp_path: Path) -> None:
    web = _project(tmp_path).services["web"]
    assert web.post_start == (
        Hook(("touch", "/data/started"), user="root", environment={"A": "1"}),
        Hook(("echo", "second")),
    )
    assert web.pre_stop == (Hook(("touch", "/data/stopping"), privileged=True),)
    assert web.raw["post_start"][0]["command"] == ["touch", "/data/started"]


def test_post_start_after_the_start_and_pre_stop_before_the_stop(tmp_path: Path) -> None:
    engine = FakeEngine()
    orch = Orchestrator(engine, _project(tmp_path))  # type: ignore[arg-type]
    orch.up()
    assert _actions(engine, "hooks-web-1") == [
        "create", "start", "exec touch /data/started user=root", "exec echo second"]
    assert _actions(engine, "hooks-plain-1") == ["create", "start"]
    orch.stop()
    assert _actions(engine, "hooks-web-1")[-2:] == ["exec touch /data/stopping", "stop"]
    orch.start()  # `start` runs post_start again, as docker compose's does
    assert _actions(engine, "hooks-web-1")[-3:] == [
        "start", "exec touch /data/started user=root", "exec echo second"]
    orch.down(DownOptions())
    assert "exec touch /data/stopping" in _actions(engine, "hooks-web-1")[-3:]


def test_a_failing_post_start_hook_fails_up_with_compose_words(tmp_path: Path) -> None:
    engine = FakeEngine(scripts={"web": Script(exec_code=3)})
    with pytest.raises(ComposeError, match="web hook exited with status 3"):
        Orchestrator(engine, _project(tmp_path)).up()  # type: ignore[arg-type]
    assert _actions(engine, "hooks-web-1") == ["create", "start", "exec touch /data/started "
                                               "user=root"]  # the second never ran


def test_a_bad_hook_is_a_load_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match=r"post_start\[0\]"):
        _project(tmp_path, """
            services:
              web:
                image: busybox
                post_start: [{user: root}]
        """)
