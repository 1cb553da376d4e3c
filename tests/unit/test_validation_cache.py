"""The clean-validation cache skips jsonschema for an unchanged file, never hides a problem; the
networkx-free acyclicity check agrees with networkx."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compose import validation
from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions

VALID = "services:\n  web:\n    image: busybox\n    environment: {A: '1'}\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(directory))
    return directory / "schema-ok"


def _load(directory: Path, text: str) -> object:
    directory.mkdir(exist_ok=True)
    (directory / "compose.yaml").write_text(text)
    return load_project(LoadOptions(cwd=directory, project_name="t"))


def _no_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("jsonschema was used for a file known to be valid")

    monkeypatch.setattr(validation, "_validator", refuse)


def test_unchanged_valid_file_skips_schema_validation(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _load(tmp_path / "p", VALID)
    assert len(list(cache.iterdir())) == 1
    _no_jsonschema(monkeypatch)
    assert _load(tmp_path / "p", VALID) == first


def test_problems_are_never_cached(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(tmp_path / "p", VALID)
    bad = VALID.replace("image: busybox", "image: [busybox]")
    messages = []
    for _ in range(2):
        with pytest.raises(ComposeFileError) as info:
            _load(tmp_path / "p", bad)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "services.web.image must be a string" in messages[0]
    assert len(list(cache.iterdir())) == 1  # only the valid version


def test_type_changes_are_not_confused(tmp_path: Path, cache: Path) -> None:
    """`'1'` and `1` print the same in JSON-ish text; only one of them is valid here."""
    _load(tmp_path / "p", "services:\n  web:\n    image: busybox\n    hostname: 'x1'\n")
    with pytest.raises(ComposeFileError, match="hostname must be a string"):
        _load(tmp_path / "p", "services:\n  web:\n    image: busybox\n    hostname: [x1]\n")


def test_unwritable_cache_still_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(blocker))  # a file: mkdir under it fails
    _load(tmp_path / "p", VALID)
    with pytest.raises(ComposeFileError):
        _load(tmp_path / "p", VALID.replace("busybox", "[busybox]"))


def test_empty_cache_setting_disables_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    assert validation._cache_dir() is None
    _load(tmp_path / "p", VALID)


def test_cycle_still_named_as_before(tmp_path: Path, cache: Path) -> None:
    text = (
        "services:\n"
        "  a: {image: x, depends_on: [b]}\n"
        "  b: {image: x, depends_on: [c]}\n"
        "  c: {image: x, depends_on: [a]}\n"
        "  d: {image: x, depends_on: [a]}\n"
    )
    with pytest.raises(ComposeFileError, match=r"dependency cycle detected: a -> b -> c -> a"):
        _load(tmp_path / "p", text)


names = st.sampled_from("abcdefg")


@given(st.dictionaries(names, st.lists(names, max_size=4), max_size=7))
def test_acyclic_agrees_with_networkx(edges: dict[str, list[str]]) -> None:
    graph: nx.DiGraph = nx.DiGraph()
    for src, targets in edges.items():
        graph.add_node(src)
        for dst in targets:
            graph.add_edge(src, dst)
    assert validation._acyclic(edges) == nx.is_directed_acyclic_graph(graph)
    assert (validation.find_cycle(edges) is None) == nx.is_directed_acyclic_graph(graph)
