"""The fast paths are tried one after the other for every command (compose.cli.app.main), so
one that declines must do it before importing anything or starting the fork server: `down`'s
path once imported its whole teardown first, and every other command paid ~45 ms for it before
its own fork server even started."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [["ps"], ["-p", "x", "logs", "web"], ["version"], []])
def test_other_commands_are_declined_before_any_import(argv: list[str]) -> None:
    code = textwrap.dedent(f"""
        import sys
        before = set(sys.modules)
        from compose.cli.fast_run import fast_run
        from compose.cli.fast_up import fast_up
        from compose.cli.fast_down import fast_down
        from engine.supervisor_spawner import SPAWNER
        loaded = set(sys.modules) - before
        argv = {argv!r}
        results = [fast_run(argv), fast_up(argv), fast_down(argv)]
        heavy = sorted(m for m in set(sys.modules) - before - loaded
                       if m.split(".")[0] in ("compose", "engine", "netdriver", "dataclasses",
                                              "typer", "typing"))
        print(results, heavy, SPAWNER._pid)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[None, None, None] [] None"
