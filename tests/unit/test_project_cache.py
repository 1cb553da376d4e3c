"""The loaded-project cache answers only for unchanged inputs and never hides a problem.

Each test loads through `load_cached` twice and checks whether the second answer came from the
cache (the loader is then not called: it is replaced by one that fails) or from a fresh load
that sees the change."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compose import loader, project_cache
from compose.errors import ComposeFileError
from compose.model import LoadOptions, Project
from compose.project_cache import load_cached

STACK = "services:\n  web:\n    image: busybox\n    environment: {A: '${A_VALUE:-unset}'}\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "proj"
    directory.mkdir()
    (directory / "compose.yaml").write_text(STACK)
    return directory


def _options(directory: Path, **environ: str) -> LoadOptions:
    return LoadOptions(cwd=directory, project_name="t", environ=dict(environ))


def _loader_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(options: LoadOptions) -> Project:
        raise AssertionError("the loader ran although the cache should have answered")

    monkeypatch.setattr(loader, "load_project", refuse)


def _env_of(project: Project) -> dict[str, str | None]:
    return dict(project.services["web"].environment)


def test_an_unchanged_stack_is_answered_from_the_cache(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_cached(_options(project_dir))
    _loader_refuses(monkeypatch)
    second = load_cached(_options(project_dir))
    assert second == first
    assert _env_of(second) == {"A": "unset"}


def test_an_edited_file_is_loaded_again(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_cached(_options(project_dir))
    (project_dir / "compose.yaml").write_text(STACK.replace("busybox", "alpine"))
    assert load_cached(_options(project_dir)).services["web"].image == "alpine"


def test_a_new_override_file_or_dotenv_is_seen(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files that did not exist at the first load (discovery's and .env's probes) count too."""
    load_cached(_options(project_dir))
    (project_dir / ".env").write_text("A_VALUE=from-dotenv\n")
    assert _env_of(load_cached(_options(project_dir))) == {"A": "from-dotenv"}
    (project_dir / "compose.override.yaml").write_text(
        "services:\n  web:\n    image: alpine\n")
    assert load_cached(_options(project_dir)).services["web"].image == "alpine"


def test_a_changed_environment_is_a_miss(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _env_of(load_cached(_options(project_dir))) == {"A": "unset"}
    assert _env_of(load_cached(_options(project_dir, A_VALUE="x"))) == {"A": "x"}
    _loader_refuses(monkeypatch)  # both are remembered, each under its own environment
    assert _env_of(load_cached(_options(project_dir))) == {"A": "unset"}
    assert _env_of(load_cached(_options(project_dir, A_VALUE="x"))) == {"A": "x"}


def test_an_edited_extends_source_is_seen(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project_dir / "base.yaml").write_text("services:\n  base:\n    image: busybox\n")
    (project_dir / "compose.yaml").write_text(
        "services:\n  web:\n    extends: {file: base.yaml, service: base}\n")
    assert load_cached(_options(project_dir)).services["web"].image == "busybox"
    (project_dir / "base.yaml").write_text("services:\n  base:\n    image: alpine\n")
    assert load_cached(_options(project_dir)).services["web"].image == "alpine"


def test_an_edited_included_file_is_seen(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project_dir / "sub").mkdir()
    (project_dir / "sub" / "compose.yaml").write_text("services:\n  db:\n    image: busybox\n")
    (project_dir / "compose.yaml").write_text(
        "include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: busybox\n")
    assert load_cached(_options(project_dir)).services["db"].image == "busybox"
    (project_dir / "sub" / "compose.yaml").write_text("services:\n  db:\n    image: alpine\n")
    assert load_cached(_options(project_dir)).services["db"].image == "alpine"


def test_an_edited_or_new_env_file_is_seen(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`env_file` contents reach the container: an edit (or an optional file appearing) must
    not be answered by the old project."""
    (project_dir / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    env_file:\n      - a.env\n"
        "      - {path: b.env, required: false}\n")
    (project_dir / "a.env").write_text("A=1\n")
    assert _env_of(load_cached(_options(project_dir))) == {"A": "1"}
    (project_dir / "a.env").write_text("A=2\n")
    assert _env_of(load_cached(_options(project_dir))) == {"A": "2"}
    (project_dir / "b.env").write_text("B=3\n")
    assert _env_of(load_cached(_options(project_dir))) == {"A": "2", "B": "3"}


def test_an_invalid_file_is_never_cached(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project_dir / "compose.yaml").write_text("services:\n  web:\n    image: [1]\n")
    for _ in range(2):  # reported in full each time, never remembered
        with pytest.raises(ComposeFileError, match=r"services\.web\.image"):
            load_cached(_options(project_dir))
    assert not (cache / "project").exists() or not os.listdir(cache / "project")


def test_a_corrupt_entry_falls_back_to_loading(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_cached(_options(project_dir))
    entries = list((cache / "project").iterdir())
    assert len(entries) == 1
    for garbage in (b"", b"not a pickle", entries[0].read_bytes()[:20]):
        entries[0].write_bytes(garbage)
        assert load_cached(_options(project_dir)) == first
    # and the fresh load wrote a good entry again
    _loader_refuses(monkeypatch)
    assert load_cached(_options(project_dir)) == first


def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[LoadOptions]:
    """The options of every real project load from now on (a cache miss each)."""
    calls: list[LoadOptions] = []
    real = loader.load_project

    def counting(options: LoadOptions) -> Project:
        calls.append(options)
        return real(options)

    monkeypatch.setattr(loader, "load_project", counting)
    return calls


def test_caching_can_be_turned_off(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    load_cached(_options(project_dir))
    calls = count_loads(monkeypatch)
    load_cached(_options(project_dir))
    assert len(calls) == 1


def test_a_load_that_lists_a_directory_is_not_cached(
    cache: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inputs the recorder cannot describe (a directory listing) make the cache step aside."""
    real = loader.load_project

    def listing(options: LoadOptions) -> Project:
        os.listdir(project_dir)
        return real(options)

    monkeypatch.setattr(loader, "load_project", listing)
    load_cached(_options(project_dir))
    assert not (cache / "project").exists() or not os.listdir(cache / "project")


def test_the_file_system_functions_are_restored(cache: Path, project_dir: Path) -> None:
    before = (io.open, builtins.open, os.stat, os.lstat, os.readlink, os.listdir, os.scandir)
    load_cached(_options(project_dir))
    with pytest.raises(ComposeFileError):
        (project_dir / "compose.yaml").write_text("services: [1]\n")
        load_cached(_options(project_dir))
    assert (io.open, builtins.open, os.stat, os.lstat, os.readlink, os.listdir,
            os.scandir) == before
    assert project_cache.FORMAT >= 1


PROBE = """
import json, os, sys
from pathlib import Path
from compose.model import LoadOptions
from compose.project_cache import load_cached
load_cached(LoadOptions(cwd=Path.cwd(), project_name="t", environ=dict(os.environ)))
print(json.dumps(sorted(m for m in ("yaml", "compose.loader", "jsonschema") if m in sys.modules)))
"""


def test_a_hit_imports_neither_the_loader_nor_yaml(tmp_path: Path, project_dir: Path) -> None:
    """What the cache is for: the second `run` of an unchanged stack skips the YAML layer."""
    env = {**os.environ, "PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache")}
    seen = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", PROBE], cwd=project_dir, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        seen.append(json.loads(done.stdout))
    assert "compose.loader" in seen[0]
    assert seen[1] == []
