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
* A stack that fails to start fails like a scoped fixture does: one attempt per scope, its
  error (with the failing services' logs) repeated for every test of the scope.
* While stacks run, SIGTERM (a CI job's timeout) stops pytest the way Ctrl-C does, so
  teardown still removes them.

Imports of the Compose layer are lazy: the plugin is loaded by every pytest run in the
environment and must cost nothing where no stack is used.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from compose.stack import Stack

SCOPES = ("session", "package", "module", "class", "function")
DEFAULT_PROJECT_PREFIX = "pytest"
DEFAULT_UP_TIMEOUT = 60.0
LOG_TAIL_IN_REPORT = 200
KEPT_SECTION = "pycompose: stack kept"

_USED_STACKS = pytest.StashKey[list["_PoolEntry"]]()
_FAILED_START = pytest.StashKey["_FailedStart"]()
_SETTINGS = pytest.StashKey["Settings"]()
# project name -> the line the terminal summary prints about it (the latest word wins)
_KEPT_MESSAGES = pytest.StashKey[dict[str, str]]()
_PREVIOUS_SIGTERM = pytest.StashKey[Any]()


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
        help="pycompose: how long to wait for a stack's services to be running/healthy "
        "(seconds, or a duration like 30s, 1m30s)",
    )
    parser.addini(
        "compose_down_timeout",
        default="",
        help="pycompose: how long a container gets to stop at teardown before it is killed "
        "(seconds or a duration; default: each service's stop_grace_period, else 10s)",
    )
    group = parser.getgroup("pycompose")
    group.addoption(
        "--compose-keep-on-failure",
        action="store_true",
        default=False,
        help="leave stacks used by failing tests up for inspection",
    )


@dataclass(frozen=True)
class Settings:
    """The plugin's ini options and flags, read and checked once at configure time: a typo
    must stop the run before any stack starts, not after (or as an INTERNALERROR)."""

    scope: str = "session"
    up_timeout: float = DEFAULT_UP_TIMEOUT
    down_timeout: float | None = None
    project_prefix: str = DEFAULT_PROJECT_PREFIX
    keep_on_failure: bool = False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "compose(*files, project_directory=None, env=None, profiles=()): the stack files "
        "(relative to the test file) that the compose_stack fixture starts",
    )
    config.stash[_KEPT_MESSAGES] = {}
    config.stash[_SETTINGS] = read_settings(config)
    config.pluginmanager.register(_KeptStacks(config.stash[_KEPT_MESSAGES]), "pycompose-kept")


def read_settings(config: pytest.Config) -> Settings:
    """Every ini option checked, each problem a UsageError that names the option."""
    scope = str(config.getini("compose_scope") or "session").strip().lower()
    if scope not in SCOPES:
        raise pytest.UsageError(
            f"compose_scope = {scope!r} is not a pytest scope (use one of {', '.join(SCOPES)})"
        )
    up_timeout = _duration(config, "compose_up_timeout")
    try:
        keep = bool(
            config.getoption("compose_keep_on_failure") or config.getini("compose_keep_on_failure")
        )
    except ValueError as exc:
        raise pytest.UsageError(f"compose_keep_on_failure: {exc} (use true or false)") from None
    return Settings(
        scope=scope,
        up_timeout=DEFAULT_UP_TIMEOUT if up_timeout is None else up_timeout,
        down_timeout=_duration(config, "compose_down_timeout"),
        project_prefix=str(config.getini("compose_project_name") or DEFAULT_PROJECT_PREFIX),
        keep_on_failure=keep,
    )


def _duration(config: pytest.Config, name: str) -> float | None:
    """An ini duration: seconds (`30`, `2.5`) or Compose's syntax (`30s`, `1m30s`)."""
    from compose.durations import parse_duration

    raw = str(config.getini(name) or "").strip()
    if not raw:
        return None
    try:
        seconds = parse_duration(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise pytest.UsageError(
            f"{name} = {raw!r} is not a duration (use seconds like 30, or 30s, 1m30s)"
        )
    return seconds


def settings(config: pytest.Config) -> Settings:
    """The checked settings (read now if pytest_configure has not run, as in a unit test)."""
    if _SETTINGS not in config.stash:
        config.stash[_SETTINGS] = read_settings(config)
    return config.stash[_SETTINGS]


def _scope(fixture_name: str, config: pytest.Config) -> str:
    """Dynamic fixture scope: the ini option `compose_scope`."""
    return settings(config).scope


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
        names = _marker_files(marker.args)
        if not names:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.compose needs stack file(s)")
        base = Path(str(item.path)).parent
        files = tuple(str((base / name).resolve()) for name in names)
        directory = marker.kwargs.get("project_directory")
        env = marker.kwargs.get("env") or {}
        profiles = marker.kwargs.get("profiles") or ()
        return StackRequest(
            files=files,
            project_directory=str((base / str(directory)).resolve()) if directory else None,
            env=tuple(sorted((str(k), str(v)) for k, v in dict(env).items())),
            # a lone string is one profile, not one per letter
            profiles=(profiles,) if isinstance(profiles, str) else tuple(map(str, profiles)),
        )
    configured = item.config.getini("compose_files")
    if not configured:
        raise pytest.UsageError(
            f"{item.nodeid}: compose_stack needs stack files: mark the test, class or module "
            '@pytest.mark.compose("compose.yaml") or set `compose_files` in the pytest ini'
        )
    root = Path(str(item.config.rootpath))
    return StackRequest(files=tuple(str((root / str(f)).resolve()) for f in configured))


def _marker_files(args: Sequence[object]) -> list[str]:
    """`compose("a.yaml", "b.yaml")` and `compose(["a.yaml", "b.yaml"])` alike (Stack takes
    a list): each argument a path or a list/tuple of paths."""
    names: list[str] = []
    for arg in args:
        names += [str(f) for f in arg] if isinstance(arg, list | tuple) else [str(arg)]
    return names


@dataclass
class _PoolEntry:
    """A started stack shared by the tests that asked for it, with the ones that failed on it,
    so teardown can keep it for inspection (`kept`) instead of removing it."""

    stack: Stack
    failed_tests: list[str] = field(default_factory=list)
    kept: bool = False


@dataclass(frozen=True)
class _FailedStart:
    """A stack that failed to start, remembered for the rest of its scope (like a fixture's
    setup error, pytest caches it): the error, the logs read before it was removed, and the
    line about it when it was kept."""

    error: BaseException
    traceback: TracebackType | None
    logs: tuple[tuple[str, str], ...] = ()
    kept_message: str | None = None


class StackPool:
    """The stacks started in one fixture scope, keyed by request; all torn down at its end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.settings = settings(config)
        self.entries: dict[StackRequest, _PoolEntry] = {}
        self.failures: dict[StackRequest, _FailedStart] = {}

    def get(self, request: StackRequest) -> _PoolEntry:
        """The stack for `request`, started on first use; a start that failed is not tried
        again in this scope: its error is raised again."""
        entry = self.entries.get(request)
        if entry is not None:
            return entry
        failed = self.failures.get(request)
        if failed is not None:
            raise failed.error.with_traceback(failed.traceback)
        _sigterm_as_interrupt(self.config)
        try:
            stack = self._stack(request)  # loads the files: a bad one fails here
        except Exception as exc:
            self.failures[request] = _FailedStart(exc, exc.__traceback__)
            raise
        try:
            stack.up(wait=True)
        except Exception as exc:
            self.failures[request] = self._failed_up(stack, exc)
            raise
        except BaseException:  # Ctrl-C (or SIGTERM): remove it, whatever keep says
            stack.down()
            raise
        entry = self.entries[request] = _PoolEntry(stack)
        return entry

    def _stack(self, request: StackRequest) -> Stack:
        from compose.stack import Stack

        return Stack(
            list(request.files),
            project_name=unique_project_name(self.settings.project_prefix),
            env=dict(request.env),
            profiles=request.profiles,
            project_directory=request.project_directory,
            up_timeout=self.settings.up_timeout,
            down_timeout=self.settings.down_timeout,
        )

    def _failed_up(self, stack: Stack, exc: Exception) -> _FailedStart:
        """Read the logs while the containers exist, then keep or remove the stack."""
        logs = tuple(_logs_sections(stack))
        if self.settings.keep_on_failure:
            kept = self._remember_kept(stack, "it failed to start")
            return _FailedStart(exc, exc.__traceback__, logs, kept)
        try:
            stack.down()
        except Exception as down_error:  # the start failure stays the error to report
            exc.add_note(f"removing stack {stack.project_name} failed too: {down_error}")
        return _FailedStart(exc, exc.__traceback__, logs)

    def _remember_kept(self, stack: Stack, why: str) -> str:
        message = (
            f"pycompose: kept stack {stack.project_name} for inspection ({why}); "
            f"remove it with: {stack.down_command()}"
        )
        self.config.stash[_KEPT_MESSAGES][stack.project_name] = message
        return message

    def close(self) -> None:
        errors: list[BaseException] = []
        for entry in self.entries.values():
            if entry.failed_tests and self.settings.keep_on_failure:
                entry.kept = True
                self._remember_kept(entry.stack, f"failed: {', '.join(entry.failed_tests)}")
                continue
            try:
                entry.stack.down()
            except Exception as exc:  # tear down the others anyway, then report
                errors.append(exc)
        self.entries.clear()
        self.failures.clear()
        if errors:
            raise errors[0]


def _sigterm_as_interrupt(config: pytest.Config) -> None:
    """From the first stack on, SIGTERM (CI timeouts) interrupts the run like Ctrl-C, so the
    stacks are removed; the previous handler comes back at unconfigure. A handler someone
    else installed (or SIG_IGN) is left alone."""
    from compose.stack import sigterm_as_interrupt

    if _PREVIOUS_SIGTERM in config.stash:
        return
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    config.stash[_PREVIOUS_SIGTERM] = signal.signal(signal.SIGTERM, sigterm_as_interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PREVIOUS_SIGTERM in config.stash:
        signal.signal(signal.SIGTERM, config.stash[_PREVIOUS_SIGTERM])
        del config.stash[_PREVIOUS_SIGTERM]


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
    wanted = stack_request(item)
    failed_before = wanted in _pycompose_stacks.failures
    try:
        entry = _pycompose_stacks.get(wanted)
    except Exception:
        failed = _pycompose_stacks.failures.get(wanted)
        if failed is not None and not failed_before:
            item.stash[_FAILED_START] = failed  # its logs go into this test's report only
        raise
    item.stash.setdefault(_USED_STACKS, []).append(entry)
    return entry.stack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not report.failed:
        return report
    failed_start = item.stash.get(_FAILED_START, None)
    if failed_start is not None and report.when == "setup":
        report.sections.extend(failed_start.logs)
        if failed_start.kept_message:
            report.sections.append((KEPT_SECTION, failed_start.kept_message))
    for entry in item.stash.get(_USED_STACKS, []):
        report.sections.extend(_logs_sections(entry.stack))
        if item.nodeid not in entry.failed_tests:
            entry.failed_tests.append(item.nodeid)
        if settings(item.config).keep_on_failure:
            report.sections.append(
                (
                    KEPT_SECTION,
                    f"pycompose: kept stack {entry.stack.project_name} for inspection "
                    f"(failed: {item.nodeid}); remove it with: {entry.stack.down_command()}",
                )
            )
    return report


def _logs_sections(stack: Stack) -> list[tuple[str, str]]:
    """A report section per container; never hides the test's own failure behind a log
    problem."""
    try:
        logs = stack.logs_by_container(tail=LOG_TAIL_IN_REPORT)
    except Exception as exc:
        return [(f"pycompose logs {stack.project_name}", f"(unavailable: {exc})")]
    return [
        (f"pycompose logs {stack.project_name}: {prefix}", text or "(no output)")
        for prefix, text in logs.items()
    ]


_KEPT_PROJECT = re.compile(r"kept stack (\S+) ")


class _KeptStacks:
    """Collects the kept-stack lines from test reports: under pytest-xdist the stacks live on
    the workers, and only their reports reach the process that prints the summary."""

    def __init__(self, messages: dict[str, str]) -> None:
        self.messages = messages

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, content in report.sections:
            match = _KEPT_PROJECT.search(content) if name == KEPT_SECTION else None
            if match:
                self.messages[match.group(1)] = content


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for message in config.stash.get(_KEPT_MESSAGES, {}).values():
        terminalreporter.write_line(message, yellow=True)
