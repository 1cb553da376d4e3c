"""What the Typer app parses a command line into, for the fast paths' parity tests."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from compose.cli.app import build_app

CLI_ENVIRONMENT = (
    "PYCOMPOSE_DEBUG", "COMPOSE_PARALLEL_LIMIT", "COMPOSE_PROGRESS", "COMPOSE_ANSI", "NO_COLOR",
    "COMPOSE_COMPATIBILITY",
)


def typer_parse(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, module: ModuleType, executor: str
) -> tuple[Any, Any]:
    """The (global options, request) the Typer command hands to `module.executor` for argv,
    read with none of the environment variables that complete the global options set."""
    seen: list[tuple[Any, Any]] = []

    def capture(flags: Any, request: Any, *_rest: Any) -> int:  # `ps` passes its renderer
        seen.append((flags, request))
        return 0

    for variable in CLI_ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(module, executor, capture)
    build_app()(args=argv, standalone_mode=False)
    return seen[0]


def declared_spellings(command_name: str) -> tuple[list[str], set[str], set[str]]:
    """The Typer command's argument names, and the spellings of its options that take a value
    and of its flags (`--help` left out): what a fast path's option table must hold."""
    import typer

    command: Any = typer.main.get_command(build_app()).commands[command_name]  # type: ignore[attr-defined]
    values: set[str] = set()
    flags: set[str] = set()
    arguments = [p.name for p in command.params if p.param_type_name == "argument"]
    for param in command.params:
        spellings = [*param.opts, *param.secondary_opts]
        if param.param_type_name == "argument" or "--help" in spellings:
            continue
        (flags if param.is_flag else values).update(spellings)
    return arguments, values, flags
