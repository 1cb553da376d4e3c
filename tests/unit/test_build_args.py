"""Build args as docker compose passes them to the builder (MappingWithEquals, resolved from
the project's environment, unset ones left out so the Dockerfile's ARG default applies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.cli.build_cmds import _build_args
from compose.errors import ComposeError
from compose.image_policy import build_args
from compose.model import Project


def _project(environment: dict[str, str]) -> Project:
    return Project(name="p", working_dir=Path("/w"), config_files=(), services={}, networks={},
                   volumes={}, environment=environment)


def test_unset_args_are_not_passed_and_bare_ones_come_from_the_environment() -> None:
    section = {"args": {"FROM_FILE": "x", "FROM_ENV": None, "UNSET": None, "EMPTY": ""}}
    assert build_args(_project({"FROM_ENV": "e"}), section) == {
        "FROM_FILE": "x", "FROM_ENV": "e", "EMPTY": "",
    }


def test_command_line_args_win_over_the_files() -> None:
    section = {"args": {"A": "file", "B": "file"}}
    given = _build_args(["A=cli", "B", "C=c=d"])
    assert given == {"A": "cli", "B": None, "C": "c=d"}
    resolved = build_args(_project({"B": "env"}), section, given)
    assert resolved == {"A": "cli", "B": "env", "C": "c=d"}


def test_a_build_arg_without_a_name_is_refused() -> None:
    with pytest.raises(ComposeError, match="invalid --build-arg '=x'"):
        _build_args(["=x"])
