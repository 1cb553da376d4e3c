"""A Compose stack as a Python object, for test suites: `from compose import Stack`.

    with Stack(["compose.yaml"]) as stack:          # up (and wait), always down afterwards
        web = stack.service("web")
        web.wait_for_port(80)
        code, out = web.exec(["wget", "-qO-", "http://localhost/"])

It drives exactly the code the CLI runs (`load_project` -> `Orchestrator` -> `Engine`), so a
stack behaves the same under `pytest` as under `pycompose up`; the data root follows
PYCOMPOSE_ROOT like the CLI.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from compose import labels as L
from compose.errors import ComposeError, ServiceNotFoundError

if TYPE_CHECKING:
    from compose.model import Project
    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo, Engine

DEFAULT_TIMEOUT = 60.0
LOG_TAIL = 30
_POLL = 0.05
SETTLE = 0.3  # seconds every container must stay up before `up(wait=True)` returns


class StackError(ComposeError):
    """A stack could not be used as asked (not started, no such container, no address)."""


class ServiceNotReadyError(StackError):
    """A service did not become ready in time; the message carries its state and log tail."""


@dataclass(frozen=True)
class _Readiness:
    """What `up(wait=True)` concluded about one container: ready, failed for good (stop
    waiting), or neither yet; `detail` is what a not-ready error says about it."""

    ready: bool
    failed: bool
    detail: str


def _value(obj: object) -> str:
    """An enum's value or a plain string (fields other engineers add may be either)."""
    return str(getattr(obj, "value", obj)).lower()


def _health(info: ContainerInfo) -> tuple[str | None, str]:
    """(health status, last probe results) when the container has a healthcheck."""
    status = getattr(info.state, "health_status", None)
    if not status:
        return None, ""
    last = []
    for entry in list(getattr(info.state, "health_log", None) or [])[-3:]:
        if isinstance(entry, Mapping):
            code = entry.get("ExitCode", entry.get("exit_code", "?"))
            output = str(entry.get("Output", entry.get("output", ""))).strip()
            last.append(f"  exit {code}: {output}")
    return _value(status), "\n".join(last)


def _readiness(info: ContainerInfo) -> _Readiness:
    status = info.state.status.value
    if status == "running":
        health, results = _health(info)
        if health in (None, "", "none", "healthy"):
            return _Readiness(True, False, "running" + (" (healthy)" if health else ""))
        if health == "unhealthy":
            return _Readiness(False, True, f"unhealthy; last health checks:\n{results}")
        return _Readiness(False, False, f"health: {health}" + (f"\n{results}" if results else ""))
    if status == "exited":
        code = info.state.exit_code
        # A one-shot service (a migration, a client) that finished cleanly counts as done.
        return _Readiness(code == 0, code != 0, f"exited with code {code}")
    return _Readiness(False, False, status)


class Service:
    """One replica of a service of a started stack (replica 1 unless `index` says otherwise)."""

    def __init__(self, stack: Stack, name: str, index: int = 1) -> None:
        self.stack = stack
        self.name = name
        self.index = index

    def __repr__(self) -> str:
        return f"Service({self.name!r}, index={self.index}, project={self.stack.project_name!r})"

    @property
    def container(self) -> ContainerInfo:
        """The container's current record and observed state."""
        for info in self.stack._orchestrator().containers((self.name,)):
            if info.labels.get(L.NUMBER) == str(self.index):
                return info
        raise StackError(
            f'service "{self.name}" has no container #{self.index} in project '
            f"{self.stack.project_name} (is the stack up?)"
        )

    @property
    def ip(self) -> str:
        """The container's IPv4 address on its first network."""
        info = self.container
        addresses = info.state.addresses
        for attachment in info.record.spec.networks:
            if attachment.network in addresses:
                return addresses[attachment.network]
        if addresses:
            return next(iter(addresses.values()))
        raise StackError(
            f'service "{self.name}" has no network address (status: {info.status.value}, '
            f"network_mode: {info.record.spec.network_mode})"
        )

    def port(self, container_port: int, protocol: str = "tcp") -> int:
        """The host port published for `container_port` (like `docker compose port`)."""
        info = self.container
        published = _published_port(info, container_port, protocol)
        if published is None:
            raise StackError(
                f'service "{self.name}" does not publish port {container_port}/{protocol}'
            )
        return published

    def exec(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        stdin: bytes | None = None,
    ) -> tuple[int, str]:
        """Run a command in the container: (exit code, stdout and stderr interleaved)."""
        if isinstance(argv, str):
            raise StackError("exec takes a list of arguments, e.g. ['sh', '-c', 'echo hi']")
        result = self.stack.engine.exec_in_container(
            self.container.id,
            list(argv),
            env=dict(env or {}),
            workdir=workdir,
            user=user,
            stdin=stdin,
        )
        return result.exit_code, result.output

    def logs(self, tail: int | None = None) -> str:
        """The container's output so far (stdout and stderr, in order)."""
        return "".join(line.text for line in self.stack.engine.logs(self.container.id, tail=tail))

    def wait_for_log(self, pattern: str | re.Pattern[str], timeout: float = DEFAULT_TIMEOUT) -> str:
        """Wait until a log line matches `pattern` (a regex); return that line."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            info = self.container
            for line in self.stack.engine.logs(info.id):
                if regex.search(line.text):
                    return line.text
            if info.status.value != "running":
                raise self._not_ready(f"exited before logging /{regex.pattern}/", info)
            if time.monotonic() >= deadline:
                raise self._not_ready(f"no log line matched /{regex.pattern}/ in {timeout}s", info)
            time.sleep(_POLL * 2)

    def wait_for_port(self, port: int, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the container accepts TCP connections on `port` (from the host, over
        its bridge: the host can reach containers directly)."""
        deadline = time.monotonic() + timeout
        last_error = "never tried"
        while True:
            info = self.container
            if info.status.value != "running":
                raise self._not_ready(f"exited before listening on port {port}", info)
            try:
                address = self.ip
                with socket.create_connection((address, port), timeout=1.0):
                    return
            except (OSError, StackError) as exc:
                last_error = str(exc)
            if time.monotonic() >= deadline:
                raise self._not_ready(
                    f"port {port} not reachable in {timeout}s (last error: {last_error})", info
                )
            time.sleep(_POLL * 2)

    def _not_ready(self, why: str, info: ContainerInfo) -> ServiceNotReadyError:
        return ServiceNotReadyError(
            f'service "{self.name}" ({info.name}) {why}; status: {_readiness(info).detail}\n'
            f"{_tail_text(self.stack.engine, info)}"
        )


def _published_port(info: ContainerInfo, container_port: int, protocol: str) -> int | None:
    """The host port the engine published for `container_port` (recorded on the state)."""
    for published in getattr(info.state, "ports", None) or ():
        if published.target == container_port and published.protocol == protocol:
            return int(published.host_port)
    return None


def _tail_text(engine: Engine, info: ContainerInfo, lines: int = LOG_TAIL) -> str:
    tail = [line.text.rstrip("\n") for line in engine.logs(info.id, tail=lines)]
    if not tail:
        return f"(no output from {info.name})"
    return f"last {len(tail)} log lines of {info.name}:\n" + "\n".join(
        f"  | {text}" for text in tail
    )


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Finish teardown even if Ctrl-C is pressed again; re-raise the interrupt afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


class Stack:
    """A Compose project loaded from stack files, started and torn down from Python.

    `env` is merged over the process environment for `${VAR}` interpolation; `root` is the
    engine data root (default: PYCOMPOSE_ROOT, else /var/lib/pycompose)."""

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = (),
        project_name: str | None = None,
        env: Mapping[str, str] | None = None,
        profiles: Sequence[str] = (),
        project_directory: str | os.PathLike[str] | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(files, str | os.PathLike):
            files = [files]
        cwd = Path.cwd()
        self.files = tuple(str((cwd / Path(f)).absolute()) for f in files)
        self.env = {**os.environ, **(env or {})}
        self.profiles = tuple(profiles or ())
        self.project_directory = Path(project_directory).absolute() if project_directory else None
        self.root = Path(root) if root else None
        self._cwd = cwd
        self._project: Project | None = None
        self._engine: Engine | None = None
        self.project_name: str = project_name or ""
        self.project_name = self.project.name  # load now: a bad stack file fails right here
        self._started = False

    def __repr__(self) -> str:
        return f"Stack({list(self.files)!r}, project_name={self.project_name!r})"

    # ---- the same pieces the CLI uses ------------------------------------------------------
    @property
    def project(self) -> Project:
        """The loaded, validated project (loaded once; a bad file raises ComposeFileError)."""
        if self._project is None:
            from compose.loader import load_project
            from compose.model import LoadOptions

            self._project = load_project(
                LoadOptions(
                    files=self.files,
                    project_name=self.project_name or None,
                    project_directory=self.project_directory,
                    profiles=self.profiles,
                    environ=dict(self.env),
                    cwd=self._cwd,
                )
            )
        return self._project

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from engine.api import Engine

            self._engine = Engine(self.root)
        return self._engine

    def _orchestrator(self) -> Orchestrator:
        from compose.orchestrator import Orchestrator

        return Orchestrator(self.engine, self.project)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self.project.services)

    # ---- lifecycle ------------------------------------------------------------------------
    def up(self, wait: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Stack:
        """Create and start every service (like `pycompose up -d`); with `wait`, return only
        once every container runs (and is healthy, where it has a healthcheck)."""
        from compose.orchestrator import UpOptions

        self._started = True
        self._orchestrator().up(UpOptions())
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT, settle: float = SETTLE) -> None:
        """Wait until every container runs (healthy, if it has a healthcheck) or finished a
        one-shot job with exit code 0. "Running" must hold for `settle` seconds: a service
        that crashes on start is reported here, with its log, not as a puzzling test failure
        later."""
        deadline = time.monotonic() + timeout
        ready_since: float | None = None
        while True:
            infos = self._orchestrator().containers()
            states = {info.name: _readiness(info) for info in infos}
            failed = [info for info in infos if states[info.name].failed]
            pending = [info for info in infos if not states[info.name].ready]
            now = time.monotonic()
            if failed or (pending and now >= deadline):
                raise self._not_ready_error(failed or pending, states, timeout, bool(failed))
            if pending:
                ready_since = None
            elif ready_since is None:
                ready_since = now
            elif now - ready_since >= settle:
                return
            time.sleep(_POLL)

    def _not_ready_error(
        self,
        infos: list[ContainerInfo],
        states: dict[str, _Readiness],
        timeout: float,
        failed: bool,
    ) -> ServiceNotReadyError:
        parts = []
        for info in infos:
            service = info.labels.get(L.SERVICE, info.name)
            parts.append(
                f'service "{service}" ({info.name}): {states[info.name].detail}\n'
                + _tail_text(self.engine, info)
            )
        head = "did not start" if failed else f"was not ready after {timeout:g}s"
        return ServiceNotReadyError(
            f"stack {self.project_name} {head}:\n" + "\n".join(parts),
            hint=f"the stack is left up for inspection: remove it with `{self.down_command()}`",
        )

    def down(self, volumes: bool = True, timeout: float | None = None) -> None:
        """Stop and remove the containers and networks (and named volumes unless told not to).
        Safe to call twice and after a failed `up`; a second Ctrl-C waits for it to finish."""
        from compose.orchestrator import DownOptions

        with _sigint_deferred():
            self._orchestrator().down(
                DownOptions(volumes=volumes, remove_orphans=True, timeout=timeout)
            )
        self._started = False

    def down_command(self) -> str:
        """The shell command that removes this stack (for stacks kept for inspection)."""
        import shlex

        words = ["pycompose", "-p", self.project_name]
        for path in self.files:
            words += ["-f", path]
        words += ["down", "-v"]
        prefix = f"PYCOMPOSE_ROOT={shlex.quote(str(self.root))} " if self.root else ""
        if not self.root and os.environ.get("PYCOMPOSE_ROOT"):
            prefix = f"PYCOMPOSE_ROOT={shlex.quote(os.environ['PYCOMPOSE_ROOT'])} "
        return prefix + shlex.join(words)

    def __enter__(self) -> Stack:
        try:
            self.up()
        except BaseException as exc:
            self.down()
            if isinstance(exc, ComposeError):
                exc.hint = None  # it is down again: no leftovers to point at
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.down()

    # ---- services -------------------------------------------------------------------------
    def service(self, name: str, index: int = 1) -> Service:
        if name not in self.project.services:
            known = ", ".join(sorted(self.project.services)) or "none"
            raise ServiceNotFoundError(f"no such service: {name} (services: {known})")
        return Service(self, name, index)

    def containers(self) -> list[ContainerInfo]:
        return self._orchestrator().containers()

    def logs(self, tail: int | None = None) -> str:
        """Every container's output, prefixed `service-N | ` like `pycompose logs`."""
        return "".join(
            f"{prefix} | {line}" if line.endswith("\n") else f"{prefix} | {line}\n"
            for prefix, text in self.logs_by_container(tail).items()
            for line in text.splitlines(keepends=True)
        )

    def logs_by_container(self, tail: int | None = None) -> dict[str, str]:
        """{`service-N`: output} for every container of the stack."""
        result = {}
        for info in self.containers():
            prefix = f"{info.labels.get(L.SERVICE, info.name)}-{info.labels.get(L.NUMBER, '1')}"
            result[prefix] = "".join(line.text for line in self.engine.logs(info.id, tail=tail))
        return result
