"""Service options the engine cannot honour are refused at load time, naming file, line,
service and key (here: `userns_mode` other than Docker's `host`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions


def _write(tmp_path: Path, userns: str) -> None:
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  app:\n    image: busybox\n    userns_mode: {userns}\n"
    )


def test_userns_mode_host_is_accepted(tmp_path: Path) -> None:
    _write(tmp_path, "host")
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert project.services["app"].raw["userns_mode"] == "host"


@pytest.mark.parametrize("mode", ["keep-id", "auto", "private"])
def test_other_userns_modes_are_a_clear_error(tmp_path: Path, mode: str) -> None:
    _write(tmp_path, mode)
    with pytest.raises(ComposeFileError) as info:
        load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    problem = next(p for p in info.value.problems if p.key == "services.app.userns_mode")
    assert problem.line == 4
    assert f'service "app": userns_mode {mode!r} is not supported' in problem.message
    assert str(tmp_path / "compose.yaml") in str(info.value)
