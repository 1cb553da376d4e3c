"""The fast `down` path reads argv exactly as the Typer command does, or declines to read it."""

from __future__ import annotations

import pytest

from compose.cli import teardown
from compose.cli.fast_down import DOWN_OPTIONS, parse
from tests.unit.cli_parity import declared_spellings, typer_parse


def test_option_table_matches_the_typer_declaration() -> None:
    arguments, values, flags = declared_spellings("down")
    assert arguments == ["services"], "the fast path reads services only"
    assert set(DOWN_OPTIONS.values) == values
    assert set(DOWN_OPTIONS.flags) == flags


@pytest.mark.parametrize(
    "argv",
    [
        ["down"],
        ["down", "-v"],
        ["-p", "demo", "down", "--volumes", "--remove-orphans", "-t", "0"],
        ["-fa.yaml", "--file=b.yaml", "down", "--timeout=2.5", "--rmi", "local"],
        ["--parallel", "-1", "--progress", "quiet", "down", "--rmi=all", "-t3"],
        ["down", "--rmi", "bogus"],  # execute() reports it, as the Typer command did
        ["down", "web"],
        ["down", "web", "-v", "db", "--timeout", "1"],
        ["--dry-run", "--compatibility", "--ansi", "never", "down", "-v"],
    ],
)
def test_fast_parse_equals_typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = typer_parse(argv, monkeypatch, teardown, "execute")
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["down", "--help"],
        ["down", "-h"],
        ["down", "-t", "soon"],
        ["down", "-t"],
        ["down", "-vt", "1"],
        ["down", "web", "--", "db"],  # combined short flags: Typer's business
        ["down", "--volumes=yes"],
        ["down", "--bogus"],
        ["--parallel", "many", "down"],
        ["up", "-d"],
        ["run", "down"],
    ],
)
def test_fast_path_declines_what_typer_must_handle(argv: list[str]) -> None:
    assert parse(argv) is None
