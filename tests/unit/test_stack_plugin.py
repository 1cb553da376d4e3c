"""The pytest plugin's choices without the kernel: which files (nearest marker wins), which
scope, which project name. Uses pytest's own `pytester` to run small inner sessions."""

from __future__ import annotations

import re

import pytest

from compose.pytest_plugin import unique_project_name

pytest_plugins = ["pytester"]

RESOLVE = """
    from compose.pytest_plugin import stack_request

    def files(request):
        return [f.rsplit("/", 2)[-2] + "/" + f.rsplit("/", 1)[-1]
                for f in stack_request(request.node).files]
"""


def test_nearest_marker_wins_and_paths_are_relative_to_the_test_file(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\ncompose_files = from-ini.yaml\n")
    sub = pytester.mkpydir("pkg")
    (sub / "test_markers.py").write_text(
        RESOLVE.replace("\n    ", "\n")
        + """
import pytest

pytestmark = pytest.mark.compose("module.yaml")

def test_module_marker(request):
    assert files(request) == ["pkg/module.yaml"]

@pytest.mark.compose("../up.yaml", "b.yaml")
def test_function_marker(request):
    assert files(request)[1] == "pkg/b.yaml"
    assert files(request)[0].endswith("/up.yaml")

@pytest.mark.compose("class.yaml")
class TestClass:
    def test_class_marker(self, request):
        assert files(request) == ["pkg/class.yaml"]

    @pytest.mark.compose("method.yaml", env={"A": "1"}, profiles=["x"])
    def test_method_marker(self, request):
        assert files(request) == ["pkg/method.yaml"]
        assert stack_request(request.node).env == (("A", "1"),)
        assert stack_request(request.node).profiles == ("x",)
"""
    )
    (pytester.path / "test_ini.py").write_text(
        RESOLVE.replace("\n    ", "\n")
        + """
def test_ini_files(request):
    assert files(request)[0].endswith("/from-ini.yaml")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_missing_files_and_bad_scope_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(compose_stack):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.re_match_lines([r".*@pytest\.mark\.compose\(.*compose_files.*"])
    pytester.makeini("[pytest]\ncompose_scope = weekly\ncompose_files = c.yaml\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    assert "compose_scope = 'weekly' is not a pytest scope" in str(result.stderr) + str(
        result.stdout
    )


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["@pytest.mark.compose(*files*"])


def test_project_names_are_unique_valid_and_name_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    names = {unique_project_name("My Tests") for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert re.fullmatch(r"my-tests-gw3-\d+-[0-9a-f]{6}", name), name
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert unique_project_name("_x").startswith("x-main-")


def test_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    found = {e.name: e.value for e in entry_points(group="pytest11")}
    assert found.get("pycompose") == "compose.pytest_plugin", (
        "the pytest11 entry point is missing: reinstall pycompose (pip install -e .)"
    )
