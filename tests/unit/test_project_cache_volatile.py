"""Shell bookkeeping variables (`_`, OLDPWD, SUDO_COMMAND, ...) do not split the project cache,
unless a stack file names them: then their value counts like any input."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.project_cache import load_cached
from tests.unit.test_project_cache import _options, count_loads


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(directory))
    return directory


def _project(tmp_path: Path, stack: str) -> Path:
    directory = tmp_path / "proj"
    directory.mkdir()
    (directory / "compose.yaml").write_text(stack)
    return directory


def test_commands_of_one_shell_share_an_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _project(tmp_path, "services:\n  web:\n    image: busybox\n")
    calls = count_loads(monkeypatch)
    load_cached(_options(directory, HOME="/root", SUDO_COMMAND="/bin/pycompose ps", SHLVL="1"))
    second = load_cached(_options(directory, HOME="/root", _="/bin/pycompose", OLDPWD="/tmp",
                                  SUDO_COMMAND="/bin/pycompose run --rm web true", SHLVL="2"))
    assert len(calls) == 1
    assert second.services["web"].image == "busybox"
    load_cached(_options(directory, HOME="/home/other"))  # any other variable still counts
    assert len(calls) == 2


@pytest.mark.parametrize("stack", [
    "services:\n  web:\n    image: busybox\n    environment: {WHERE: '${OLDPWD:-none}'}\n",
    "services:\n  web:\n    image: busybox\n    environment: [OLDPWD]\n",
])
def test_a_volatile_variable_the_stack_names_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    directory = _project(tmp_path, stack)
    calls = count_loads(monkeypatch)
    first = load_cached(_options(directory, OLDPWD="/a"))
    assert load_cached(_options(directory, OLDPWD="/a")) == first
    assert len(calls) == 1
    changed = load_cached(_options(directory, OLDPWD="/b"))
    assert changed.services["web"].environment == {"WHERE" if "WHERE" in stack else "OLDPWD": "/b"}
    unset = load_cached(_options(directory))
    assert len(calls) == 3
    assert unset.services["web"].environment != changed.services["web"].environment


def test_a_volatile_name_in_the_dotenv_file_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _project(tmp_path, "services:\n  web:\n    image: ${IMAGE}\n")
    (directory / ".env").write_text("IMAGE=${SUDO_COMMAND:-busybox}\n")
    assert load_cached(_options(directory)).services["web"].image == "busybox"
    assert load_cached(_options(directory, SUDO_COMMAND="alpine")).services["web"].image == "alpine"
