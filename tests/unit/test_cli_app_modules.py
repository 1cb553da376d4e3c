"""The CLI registers only the module of the command it runs: the table saying which module
defines which command must be complete and right, and a narrowed app must behave as the whole."""

from __future__ import annotations

import importlib

import pytest
import typer
from typer.main import get_command_name
from typer.testing import CliRunner

from compose.cli import app as cli_app


def _registered(module: str) -> set[str]:
    app = typer.Typer()
    importlib.import_module(f"compose.cli.{module}").register(app)
    names = {  # as Typer names them: the explicit name, else the function's
        c.name or get_command_name(getattr(c.callback, "__name__", ""))
        for c in app.registered_commands
    }
    return names | {g.name or "" for g in app.registered_groups}


def test_every_command_maps_to_the_module_that_registers_it() -> None:
    found = {name: module for module in cli_app.MODULES for name in _registered(module)}
    assert "" not in found
    assert found == cli_app.COMMAND_MODULES


@pytest.mark.parametrize(("argv", "expected"), [
    (["ps", "-a"], ("query_cmds",)),
    (["-p", "x", "--file=a.yaml", "down", "-v"], ("lifecycle_cmds",)),
    (["image", "ls"], ("image_cmds",)),
    (["--help"], cli_app.MODULES),
    ([], cli_app.MODULES),
    (["psx"], cli_app.MODULES),  # unknown: the whole app suggests the right name
    (["--bogus", "ps"], cli_app.MODULES),
])
def test_argv_picks_the_modules(argv: list[str], expected: tuple[str, ...]) -> None:
    assert cli_app.modules_for(argv) == expected


def test_a_narrowed_app_parses_and_helps_like_the_whole() -> None:
    runner = CliRunner()
    narrowed = cli_app.build_app(cli_app.modules_for(["ps"]))
    whole = cli_app.build_app()
    for argv in (["ps", "--help"], ["ps", "--no-such-flag"], ["--parallel", "x", "ps"]):
        got = runner.invoke(narrowed, argv)
        want = runner.invoke(whole, argv)
        assert (got.exit_code, got.output) == (want.exit_code, want.output), argv
    assert runner.invoke(narrowed, ["ps", "--help"]).exit_code == 0
