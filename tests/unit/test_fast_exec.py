"""The fast `exec` path reads argv exactly as the Typer command does, or declines to read it."""

from __future__ import annotations

import pytest

from compose.cli import service_exec
from compose.cli.fast_exec import EXEC_OPTIONS, parse
from tests.unit.cli_parity import declared_spellings, typer_parse


def test_option_table_matches_the_typer_declaration() -> None:
    arguments, values, flags = declared_spellings("exec")
    assert arguments == ["service", "command"], "the fast path reads a service and its command"
    assert set(EXEC_OPTIONS.values) == values
    assert set(EXEC_OPTIONS.flags) == flags


@pytest.mark.parametrize(
    "argv",
    [
        ["exec", "web", "true"],
        ["exec", "-T", "web", "sh", "-c", "echo $HOME"],
        ["exec", "-it", "web", "sh"],
        ["exec", "-iT", "--index", "2", "web", "ls", "-la", "/"],
        ["-p", "demo", "exec", "-d", "--privileged", "web", "sleep", "1"],
        ["exec", "-e", "A=1", "--env=B", "-e", "-iT", "web", "env"],  # a value is not split
        ["exec", "-u", "nobody", "-w", "/tmp", "--user=0:0", "web", "id", "-u"],
        ["exec", "--no-TTY", "--detach", "-i", "-t", "web", "true", "-T", "--index", "3"],
        ["-f", "a.yaml", "--progress", "quiet", "exec", "web", "x"],
    ],
)
def test_fast_parse_equals_typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = typer_parse(argv, monkeypatch, service_exec, "execute")
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["exec", "--help"],
        ["exec", "web"],  # no command: Typer's "missing argument"
        ["exec"],
        ["exec", "--index", "two", "web", "true"],
        ["exec", "-x", "web", "true"],
        ["exec", "--bogus", "web", "true"],
        ["exec", "web", "--", "true"],
        ["exec", "-e"],
        ["--parallel", "many", "exec", "web", "true"],
        ["run", "exec", "web"],
        ["--dry-run", "exec", "web", "true"],  # refused by the Typer app's check
    ],
)
def test_fast_path_declines_what_typer_must_handle(argv: list[str]) -> None:
    assert parse(argv) is None
