"""The fast `up` path reads argv exactly as the Typer command does, or declines to read it."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from compose.cli import startup
from compose.cli.app import build_app
from compose.cli.context import make_global_options
from compose.cli.fast_up import UP_OPTIONS, parse
from compose.cli.startup import UpRequest
from tests.unit.cli_parity import CLI_ENVIRONMENT, typer_parse


def test_option_table_matches_the_typer_declaration() -> None:
    command: Any = typer.main.get_command(build_app()).commands["up"]  # type: ignore[attr-defined]
    values: set[str] = set()
    flags: set[str] = set()
    multiple: set[str] = set()
    arguments = []
    for param in command.params:
        if param.param_type_name == "argument":
            arguments.append((param.name, param.nargs))
            continue
        spellings = [*param.opts, *param.secondary_opts]
        if "--help" in spellings:
            continue
        (flags if param.is_flag else values).update(spellings)
        if param.multiple:
            multiple.update(spellings)
    assert arguments == [("services", -1)], "the fast path reads only SERVICE... as arguments"
    assert command.allow_interspersed_args  # options after services: the fast path reads them
    assert set(UP_OPTIONS.values) == values
    assert set(UP_OPTIONS.flags) == flags
    assert {s for s, key in UP_OPTIONS.values.items() if key in UP_OPTIONS.multiple} == multiple


PARITY_ARGV = [
    ["up"],
    ["up", "-d"],
    ["up", "--detach", "web", "db"],
    ["up", "web", "-d", "db", "--scale", "web=2"],  # options between and after services
    ["-f", "a.yaml", "-p", "demo", "--progress", "quiet", "up", "-d"],
    ["-fa.yaml", "--file=b.yaml", "--parallel", "-1", "up", "--timeout=2.5", "-t3"],
    ["--profile", "x", "--env-file", ".env", "--debug", "up", "--wait", "--wait-timeout", "1e1"],
    [
        "up", "--scale", "a=1", "web", "--scale=b=2", "--attach", "a", "--no-attach", "b",
        "--attach=c", "--no-attach", "d",
    ],
    [
        "up", "--force-recreate", "--no-recreate", "--no-start", "--no-deps", "--remove-orphans",
        "--abort-on-container-exit", "--exit-code-from", "web", "--timestamps",
        "--no-log-prefix", "--no-color", "--build", "--pull", "always",
    ],
    ["up", "-t", "-1", "--pull=never", "--exit-code-from=db", "--timeout", " 4 "],
    ["up", "--quiet-build", "-y", "--menu", "web", "--yes"],
    ["--compatibility", "--ansi", "always", "up", "-d"],
    ["--dry-run", "up", "-d", "--wait"],
    ["up", "--scale", "bogus"],  # execute() reports it, as the Typer command did
    ["up", "--pull", "sometimes"],  # --pull is plain text: the orchestrator checks it
    ["up", ""],
]


@pytest.mark.parametrize("argv", PARITY_ARGV)
def test_fast_parse_equals_typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = typer_parse(argv, monkeypatch, startup, "execute")
    assert parse(argv) == expected


def test_parse_reads_global_flags_and_every_up_option(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CLI_ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    argv = [
        "-f", "a.yaml", "-p", "demo", "--progress", "plain", "up", "-d", "web",
        "--scale", "web=3", "-t", "5", "--wait-timeout=7.5", "db", "--pull", "missing",
    ]
    assert parse(argv) == (
        make_global_options(files=("a.yaml",), project_name="demo", progress="plain"),
        UpRequest(
            services=("web", "db"),
            detach=True,
            scale=("web=3",),
            timeout=5.0,
            wait_timeout=7.5,
            pull="missing",
        ),
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["up", "--help"],
        ["up", "-h"],
        ["up", "web", "--help"],
        ["up", "-t", "soon"],
        ["up", "--wait-timeout", "later"],
        ["up", "-t"],
        ["up", "--scale"],
        ["up", "-dt", "1"],  # combined short flags: Typer's business
        ["up", "-d1"],
        ["up", "--detach=yes"],
        ["up", "--bogus"],
        ["up", "--", "web"],
        ["up", "web", "--", "-d"],
        ["up", "-"],
        ["--parallel", "many", "up"],
        ["--bogus", "up"],
        ["--ansi", "always", "--progress", "plain", "up"],  # Typer's callback reports it
        ["down"],
        ["run", "up"],
        [],
    ],
)
def test_fast_path_declines_what_typer_must_handle(argv: list[str]) -> None:
    assert parse(argv) is None
