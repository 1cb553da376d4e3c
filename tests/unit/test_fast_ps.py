"""The fast `ps` path reads argv exactly as the Typer command does, or declines to read it."""

from __future__ import annotations

import pytest

from compose.cli import ps_listing
from compose.cli.fast_ps import PS_OPTIONS, parse
from tests.unit.cli_parity import declared_spellings, typer_parse


def test_option_table_matches_the_typer_declaration() -> None:
    arguments, values, flags = declared_spellings("ps")
    assert arguments == ["services"], "the fast path reads services only"
    assert set(PS_OPTIONS.values) == values
    assert set(PS_OPTIONS.flags) == flags


@pytest.mark.parametrize(
    "argv",
    [
        ["ps"],
        ["ps", "-a"],
        ["ps", "-q"],
        ["-p", "demo", "ps", "--all", "--services"],
        ["-fa.yaml", "--file=b.yaml", "ps", "--format", "json", "web"],
        ["ps", "--format=table", "--no-trunc", "web", "db"],
        ["ps", "--status", "running", "--status=exited", "--filter", "status=paused"],
        ["ps", "--filter", "bogus=1"],  # execute() reports it, as the Typer command does
        ["ps", "--no-orphans"],
        ["ps", "--no-orphans", "--orphans"],
        ["ps", "web", "-a", "db", "-q"],
        ["--parallel", "-1", "--progress", "quiet", "ps"],
        ["--dry-run", "ps", "-a"],  # a read-only command reads the real engine under --dry-run
    ],
)
def test_fast_parse_equals_typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = typer_parse(argv, monkeypatch, ps_listing, "execute")
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["ps", "--help"],
        ["ps", "-h"],
        ["ps", "--format", "{{.Name}}"],  # templates: the Typer command renders them
        ["ps", "--format", "yaml"],
        ["ps", "--format"],
        ["ps", "-aq"],  # combined short flags: Typer's business
        ["ps", "web", "--", "db"],
        ["ps", "--all=yes"],
        ["ps", "--bogus"],
        ["--parallel", "many", "ps"],
        ["up", "-d"],
        ["run", "ps"],
    ],
)
def test_fast_path_declines_what_typer_must_handle(argv: list[str]) -> None:
    assert parse(argv) is None
