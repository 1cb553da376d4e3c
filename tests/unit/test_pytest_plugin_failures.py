"""The pytest plugin when things go wrong, without the kernel: a stack that cannot start,
bad ini values, SIGTERM, pytest-xdist. The stacks run on `StackFakeEngine`, installed in place
of `engine.api.Engine` (in this process for in-process `pytester` runs, through a conftest for
subprocess runs), so the real Stack, orchestrator and plugin code run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# In-process pytester runs drop the modules a run imported; the plugin's lazily imported ones
# must survive, or the next run mixes two copies of them (the loader then misreads files).
import compose.loader
import compose.orchestrator
import compose.stack  # noqa: F401
from tests.unit.fake_engine import Script
from tests.unit.stack_fake_engine import (
    EVENTS_ENV,
    SCRIPTS_ENV,
    StackFakeEngine,
    conftest_source,
)

pytest_plugins = ["pytester"]

REPO = str(Path(__file__).resolve().parents[2])

BROKEN = "services:\n  db:\n    image: busybox\n  web:\n    image: busybox\n"
THREE_TESTS = """
import pytest

pytestmark = pytest.mark.compose("compose.yaml")

def test_one(compose_stack):
    pass

def test_two(compose_stack):
    pass

def test_three(compose_stack):
    pass
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> StackFakeEngine:
    """Every Stack of an in-process pytester run lands on this engine: `db` exits 3."""
    engine = StackFakeEngine(
        scripts={
            "db": Script(exit_after=0.05, exit_code=3, health=None),
            "web": Script(health=None),
        },
        log_lines={"db": ["starting db", "config is broken"], "web": ["web: serving"]},
    )
    monkeypatch.setattr("engine.api.Engine", lambda root=None: engine)
    return engine


def _suite(pytester: pytest.Pytester, ini: str = "compose_scope = module\n") -> None:
    pytester.makeini("[pytest]\n" + ini)
    (pytester.path / "compose.yaml").write_text(BROKEN)
    pytester.makepyfile(test_stack=THREE_TESTS)


def test_a_stack_that_fails_to_start_is_tried_once_per_scope(
    pytester: pytest.Pytester, fake: StackFakeEngine
) -> None:
    _suite(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    assert len(fake.actions("create")) == 2  # db and web, once: not once per test
    assert fake.list_containers() == []  # and removed
    assert result.stdout.str().count("exited with code 3") >= 3  # every test says why


def test_a_kept_stack_that_failed_to_start_is_one_stack_and_one_line(
    pytester: pytest.Pytester, fake: StackFakeEngine
) -> None:
    _suite(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "--compose-keep-on-failure")
    result.assert_outcomes(errors=3)
    assert len(fake.actions("create")) == 2
    assert len(fake.list_containers()) == 2  # kept
    out = result.stdout.str()
    kept = re.findall(r"^pycompose: kept stack (\S+) .*it failed to start.*remove it with: .*"
                      r"down -v$", out, re.MULTILINE)
    assert len(set(kept)) == 1, out
    # in the first test's report, and once in the summary at the end
    assert re.search(r"-+ pycompose: stack kept -+\npycompose: kept stack", out)
    assert _summary_kept(out) == kept[:1], out


def _summary_kept(output: str) -> list[str]:
    """The projects the terminal summary names (the lines right above the short summary)."""
    before = re.split(r"\n=+ short test summary", output)[0].splitlines()
    found = []
    for line in reversed(before):
        match = re.match(r"pycompose: kept stack (\S+) for inspection", line)
        if not match:
            break
        found.append(match.group(1))
    return found


def test_setup_failure_reports_the_logs_read_before_teardown(
    pytester: pytest.Pytester, fake: StackFakeEngine
) -> None:
    _suite(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    out = result.stdout.str()
    # the error itself carries the failing service's log tail ...
    assert "last 2 log lines of" in out and "  | config is broken" in out
    # ... and the first test's report has the logs sections, as a failing test's does
    sections = re.findall(r"-+ pycompose logs (\S+): (\S+) -+", out)
    assert sorted(s[1] for s in sections) == ["db-1", "web-1"], out
    assert re.search(r"pycompose logs \S+: db-1 -+\nstarting db\nconfig is broken", out)


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("compose_down_timeout = abc", "compose_down_timeout = 'abc' is not a duration"),
        ("compose_up_timeout = soon", "compose_up_timeout = 'soon' is not a duration"),
        ("compose_scope = modul", "compose_scope = 'modul' is not a pytest scope"),
        ("compose_keep_on_failure = maybe", "'maybe'"),
    ],
)
def test_bad_ini_values_stop_the_run_before_any_stack_starts(
    pytester: pytest.Pytester, fake: StackFakeEngine, ini: str, message: str
) -> None:
    _suite(pytester, ini + "\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert message in output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert fake.actions("create") == []


def test_timeouts_take_durations_and_plain_seconds(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncompose_up_timeout = 1m30s\ncompose_down_timeout = 2.5\n")
    pytester.makepyfile(
        """
        from compose.pytest_plugin import settings

        def test_settings(request):
            assert settings(request.config).up_timeout == 90
            assert settings(request.config).down_timeout == 2.5
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_stack_gets_the_ini_timeouts(
    pytester: pytest.Pytester, fake: StackFakeEngine
) -> None:
    pytester.makeini("[pytest]\ncompose_up_timeout = 30s\ncompose_down_timeout = 1m\n")
    (pytester.path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.compose("compose.yaml")
        def test_timeouts(compose_stack):
            assert (compose_stack.up_timeout, compose_stack.down_timeout) == (30, 60)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_marker_takes_a_list_of_files_and_a_single_profile(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from compose.pytest_plugin import stack_request

        @pytest.mark.compose(["a.yaml", "b.yaml"], profiles="debug")
        def test_list(request):
            wanted = stack_request(request.node)
            assert [f.rsplit("/", 1)[-1] for f in wanted.files] == ["a.yaml", "b.yaml"]
            assert wanted.profiles == ("debug",)

        @pytest.mark.compose(("a.yaml",), "c.yaml", profiles=["x", "y"])
        def test_mixed(request):
            wanted = stack_request(request.node)
            assert [f.rsplit("/", 1)[-1] for f in wanted.files] == ["a.yaml", "c.yaml"]
            assert wanted.profiles == ("x", "y")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_sigterm_handler_is_installed_with_the_first_stack_and_restored(
    pytester: pytest.Pytester, fake: StackFakeEngine
) -> None:
    (pytester.path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    pytester.makepyfile(
        """
        import signal
        import pytest
        from compose.stack import sigterm_as_interrupt

        def test_before():
            assert signal.getsignal(signal.SIGTERM) is not sigterm_as_interrupt

        @pytest.mark.compose("compose.yaml")
        def test_with_stack(compose_stack):
            assert signal.getsignal(signal.SIGTERM) is sigterm_as_interrupt
        """
    )
    before = signal.getsignal(signal.SIGTERM)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert signal.getsignal(signal.SIGTERM) is before


# ---- in a pytest subprocess -------------------------------------------------------------------
def _subprocess_suite(
    tmp_path: Path, test_source: str, ini: str
) -> tuple[Path, Path, dict[str, str]]:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(conftest_source(REPO))
    (suite / "pytest.ini").write_text("[pytest]\n" + ini)
    (suite / "compose.yaml").write_text(BROKEN)
    (suite / "test_stack.py").write_text(test_source)
    events = tmp_path / "events.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COMPOSE_"))}
    env[EVENTS_ENV] = str(events)
    env[SCRIPTS_ENV] = json.dumps({
        "db": {"exit_after": 0.05, "exit_code": 3, "health": None, "logs": ["config is broken"]},
        "web": {"health": None, "logs": ["web: serving"]},
    })
    return suite, events, env


def test_kept_stack_line_reaches_the_summary_under_xdist(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    suite, events, env = _subprocess_suite(tmp_path, THREE_TESTS, "compose_scope = session\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
         "--compose-keep-on-failure", str(suite)],
        cwd=suite, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    created = [line for line in events.read_text().splitlines() if line.startswith("create")]
    projects = {line.split()[1].rsplit("-", 2)[0] for line in created}
    kept = re.findall(r"^pycompose: kept stack (\S+) for inspection \(it failed to start\); "
                      r"remove it with: .* down -v$", done.stdout, re.MULTILINE)
    assert projects and set(kept) == projects, done.stdout
    assert set(_summary_kept(done.stdout)) == projects, done.stdout


def test_sigterm_removes_the_stack_like_ctrl_c(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    source = f"""
import time
import pytest

@pytest.mark.compose("compose.yaml")
def test_slow(compose_stack):
    open({str(ready)!r}, "w").close()
    time.sleep(60)
"""
    suite, events, env = _subprocess_suite(tmp_path, source, "")
    (suite / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(suite)],
        cwd=suite, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        for _ in range(300):
            if ready.exists():
                break
            time.sleep(0.1)
        assert ready.exists(), "the test never ran"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    lines = events.read_text().split("\n")
    assert [line.split()[0] for line in lines if line] == ["create", "remove"], lines
