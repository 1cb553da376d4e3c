"""pytest plugin: Compose stacks as test fixtures (registered through the `pytest11` entry point).

    @pytest.mark.compose("compose.yaml")          # paths relative to the test file
    def test_web(compose_stack):
        web = compose_stack.service("web")
        web.wait_for_port(80)

* `compose_stack` gives a started `compose.Stack` for the nearest `compose` marker (test, then
  class, then module) or, without one, the ini option `compose_files`.
* Stacks live in a pool whose scope is the ini option `compose_scope` (session, package,
  module, class or function; default session): each distinct set of files is started once per
  scope and torn down when the scope ends, also after failures and on Ctrl-C.
* Project names are `<compose_project_name>-<worker>-<pid>-<random>`, so parallel runs
  (`pytest -n`, several CI jobs on one host) never share containers or networks.
* A failing test's report carries the logs of every container of its stack. With
  `compose_keep_on_failure` (or `--compose-keep-on-failure`) a stack used by a failing test is
  left up and the report says how to remove it.

Imports of the Compose layer are lazy: the plugin is loaded by every pytest run in the
environment and must cost nothing where no stack is used.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from compose.stack import Stack

SCOPES = ("session", "package", "module", "class", "function")
DEFAULT_PROJECT_PREFIX = "pytest"
LOG_TAIL_IN_REPORT = 200

_USED_STACKS = pytest.StashKey[list["_PoolEntry"]]()
_KEPT_MESSAGES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "compose_files",
        type="args",
        default=[],
        help="pycompose: stack files for `compose_stack` when no compose marker names them "
        "(relative to the rootdir)",
    )
    parser.addini(
        "compose_scope",
        default="session",
        help="pycompose: how long a stack lives: session, package, module, class or function",
    )
    parser.addini(
        "compose_project_name",
        default=DEFAULT_PROJECT_PREFIX,
        help="pycompose: prefix of the generated, unique project names",
    )
    parser.addini(
        "compose_keep_on_failure",
        type="bool",
        default=False,
        help="pycompose: leave a stack up when a test using it failed",
    )
    parser.addini(
        "compose_up_timeout",
        default="60",
        help="pycompose: seconds to wait for a stack's services to be running/healthy",
    )
    parser.addini(
        "compose_down_timeout",
        default="",
        help="pycompose: seconds a container gets to stop at teardown before it is killed "
        "(default: each service's stop_grace_period, else 10)",
    )
    group = parser.getgroup("pycompose")
    group.addoption(
        "--compose-keep-on-failure",
        action="store_true",
        default=False,
        help="leave stacks used by failing tests up for inspection",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "compose(*files, project_directory=None, env=None, profiles=()): the stack files "
        "(relative to the test file) that the compose_stack fixture starts",
    )
    config.stash[_KEPT_MESSAGES] = []


def _scope(fixture_name: str, config: pytest.Config) -> str:
    """Dynamic fixture scope: the ini option `compose_scope`."""
    scope = str(config.getini("compose_scope") or "session").strip().lower()
    if scope not in SCOPES:
        raise pytest.UsageError(
            f"compose_scope = {scope!r} is not a pytest scope (use one of {', '.join(SCOPES)})"
        )
    return scope


def _keep_on_failure(config: pytest.Config) -> bool:
    return bool(
        config.getoption("compose_keep_on_failure") or config.getini("compose_keep_on_failure")
    )


def _down_timeout(config: pytest.Config) -> float | None:
    raw = str(config.getini("compose_down_timeout") or "").strip()
    try:
        return float(raw) if raw else None
    except ValueError:
        raise pytest.UsageError(f"compose_down_timeout = {raw!r} is not a number") from None


_NAME_CHARS = re.compile(r"[^a-z0-9_-]+")


def unique_project_name(prefix: str) -> str:
    """`prefix-worker-pid-random`: distinct across xdist workers, runs and hosts' CI jobs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    raw = f"{prefix}-{worker}-{os.getpid()}-{secrets.token_hex(3)}".lower()
    name = _NAME_CHARS.sub("-", raw).strip("-_")
    return name if name[:1].isalnum() else f"p{name}"


@dataclass(frozen=True)
class StackRequest:
    """What a test asks for: which files, from where, with which env and profiles."""

    files: tuple[str, ...]
    project_directory: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    profiles: tuple[str, ...] = ()


def stack_request(item: pytest.Item) -> StackRequest:
    """The nearest `compose` marker (test, class, module), else the ini option."""
    marker = item.get_closest_marker("compose")
    if marker is not None:
        if not marker.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.compose needs stack file(s)")
        base = Path(str(item.path)).parent
        files = tuple(str((base / str(f)).resolve()) for f in marker.args)
        directory = marker.kwargs.get("project_directory")
        env = marker.kwargs.get("env") or {}
        return StackRequest(
            files=files,
            project_directory=str((base / str(directory)).resolve()) if directory else None,
            env=tuple(sorted((str(k), str(v)) for k, v in dict(env).items())),
            profiles=tuple(marker.kwargs.get("profiles") or ()),
        )
    configured = item.config.getini("compose_files")
    if not configured:
        raise pytest.UsageError(
            f"{item.nodeid}: compose_stack needs stack files: mark the test, class or module "
            '@pytest.mark.compose("compose.yaml") or set `compose_files` in the pytest ini'
        )
    root = Path(str(item.config.rootpath))
    return StackRequest(files=tuple(str((root / str(f)).resolve()) for f in configured))


@dataclass
class _PoolEntry:
    """A started stack shared by the tests that asked for it, with the ones that failed on it,
    so teardown can keep it for inspection (`kept`) instead of removing it."""

    stack: Stack
    failed_tests: list[str] = field(default_factory=list)
    kept: bool = False


class StackPool:
    """The stacks started in one fixture scope, keyed by request; all torn down at its end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: dict[StackRequest, _PoolEntry] = {}

    def get(self, request: StackRequest) -> _PoolEntry:
        entry = self.entries.get(request)
        if entry is not None:
            return entry
        from compose.stack import Stack

        stack = Stack(
            list(request.files),
            project_name=unique_project_name(
                str(self.config.getini("compose_project_name") or DEFAULT_PROJECT_PREFIX)
            ),
            env=dict(request.env),
            profiles=request.profiles,
            project_directory=request.project_directory,
        )
        timeout = float(self.config.getini("compose_up_timeout") or 60)
        try:
            stack.up(wait=True, timeout=timeout)
        except BaseException as exc:
            if _keep_on_failure(self.config) and not isinstance(exc, KeyboardInterrupt):
                self._remember_kept(stack, "it failed to start")
            else:
                stack.down(timeout=_down_timeout(self.config))
            raise
        entry = _PoolEntry(stack)
        self.entries[request] = entry
        return entry

    def _remember_kept(self, stack: Stack, why: str) -> str:
        message = (
            f"pycompose: kept stack {stack.project_name} for inspection ({why}); "
            f"remove it with: {stack.down_command()}"
        )
        self.config.stash[_KEPT_MESSAGES].append(message)
        return message

    def close(self) -> None:
        errors: list[BaseException] = []
        for entry in self.entries.values():
            if entry.failed_tests and _keep_on_failure(self.config):
                entry.kept = True
                self._remember_kept(entry.stack, f"failed: {', '.join(entry.failed_tests)}")
                continue
            try:
                entry.stack.down(timeout=_down_timeout(self.config))
            except Exception as exc:  # tear down the others anyway, then report
                errors.append(exc)
        self.entries.clear()
        if errors:
            raise errors[0]


@pytest.fixture(scope=_scope)  # type: ignore[arg-type]
def _pycompose_stacks(request: pytest.FixtureRequest) -> Iterator[StackPool]:
    pool = StackPool(request.config)
    yield pool
    pool.close()


@pytest.fixture
def compose_stack(request: pytest.FixtureRequest, _pycompose_stacks: StackPool) -> Stack:
    """A started `compose.Stack` for this test's `compose` marker (or `compose_files`)."""
    item = request.node
    assert isinstance(item, pytest.Item)
    entry = _pycompose_stacks.get(stack_request(item))
    item.stash.setdefault(_USED_STACKS, []).append(entry)
    return entry.stack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    entries = item.stash.get(_USED_STACKS, [])
    if report.failed and entries:
        for entry in entries:
            _attach_logs(report, entry.stack)
            if item.nodeid not in entry.failed_tests:
                entry.failed_tests.append(item.nodeid)
            if _keep_on_failure(item.config):
                report.sections.append(
                    (
                        "pycompose: stack kept",
                        f"stack {entry.stack.project_name} is left up for inspection; "
                        f"remove it with:\n  {entry.stack.down_command()}",
                    )
                )
    return report


def _attach_logs(report: pytest.TestReport, stack: Stack) -> None:
    try:
        logs = stack.logs_by_container(tail=LOG_TAIL_IN_REPORT)
    except Exception as exc:  # never hide the test's own failure behind a log problem
        report.sections.append((f"pycompose logs {stack.project_name}", f"(unavailable: {exc})"))
        return
    for prefix, text in logs.items():
        report.sections.append(
            (f"pycompose logs {stack.project_name}: {prefix}", text or "(no output)")
        )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for message in config.stash.get(_KEPT_MESSAGES, []):
        terminalreporter.write_line(message, yellow=True)
