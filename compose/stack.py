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
        """The address the host reaches the container at: its IPv4 address on its first
        network; 127.0.0.1 with `network_mode: host`; the joined container's address with
        `network_mode: service:x` / `container:x` (they share one network namespace)."""
        return _address(self.stack.engine, self.container, f'service "{self.name}"')

    def port(self, container_port: int | str, protocol: str = "tcp") -> int:
        """The host port published for `container_port` (like `docker compose port`);
        `8080`, `"8080"` and `"53/udp"` all work, as users write ports in YAML."""
        number, protocol = _port_and_protocol(container_port, protocol)
        info = self.container
        published = _published_port(info, number, protocol)
        if published is None:
            raise StackError(f'service "{self.name}" does not publish port {number}/{protocol}')
        return published

    def exec(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        stdin: bytes | str | None = None,
    ) -> tuple[int, str]:
        """Run a command in the container: (exit code, stdout and stderr interleaved).
        A str `stdin` is sent UTF-8 encoded (the output comes back as str too)."""
        if isinstance(argv, str):
            raise StackError("exec takes a list of arguments, e.g. ['sh', '-c', 'echo hi']")
        if isinstance(stdin, str):
            stdin = stdin.encode()
        elif stdin is not None and not isinstance(stdin, bytes | bytearray | memoryview):
            raise TypeError(f"exec stdin must be bytes or str, not {type(stdin).__name__}")
        result = self.stack.engine.exec_in_container(
            self.container.id,
            list(argv),
            env=dict(env or {}),
            workdir=workdir,
            user=user,
            stdin=bytes(stdin) if stdin is not None else None,
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

    def wait_for_port(self, port: int | str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the container accepts TCP connections on `port` (from the host, over
        its bridge: the host can reach containers directly; see `ip`)."""
        port, _ = _port_and_protocol(port, "tcp")
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


def _port_and_protocol(port: int | str, protocol: str) -> tuple[int, str]:
    """`8080` / `"8080"` / `"53/udp"` -> (number, protocol); anything else is a StackError
    here rather than a lookup that silently finds nothing."""
    text = str(port).strip()
    number, _, given = text.partition("/")
    if isinstance(port, bool) or not number.isdigit():
        raise StackError(f"not a port number: {port!r} (use e.g. 8080 or '53/udp')")
    return int(number), (given or protocol).lower()


NETWORK_MODE_HOPS = 8  # container:a -> container:b -> ...: bounded, a cycle cannot hang


def _address(engine: Engine, info: ContainerInfo, subject: str) -> str:
    """Where the host reaches `info`, following `network_mode` (see `Service.ip`)."""
    for _ in range(NETWORK_MODE_HOPS):
        mode = info.record.spec.network_mode or "bridge"
        if mode == "host":
            return "127.0.0.1"
        if not mode.startswith("container:"):
            break
        target = mode.removeprefix("container:")
        found = engine.find_container(target)
        if found is None:
            raise StackError(
                f"{subject} shares the network namespace of container {target}, "
                "which does not exist"
            )
        info = found
    addresses = info.state.addresses
    for attachment in info.record.spec.networks:
        if attachment.network in addresses:
            return addresses[attachment.network]
    if addresses:
        return next(iter(addresses.values()))
    raise StackError(
        f"{subject} has no network address (status: {info.status.value}, "
        f"network_mode: {info.record.spec.network_mode})"
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


def sigterm_as_interrupt(signum: int, frame: object) -> None:
    """A SIGTERM handler that stops the program the way Ctrl-C does, so that `finally`
    blocks and fixture teardown remove stacks (a CI job's timeout sends SIGTERM)."""
    raise KeyboardInterrupt(f"terminated by signal {signum}")


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Finish teardown even if Ctrl-C is pressed again (or SIGTERM arrives while it is treated
    as Ctrl-C, see `sigterm_as_interrupt`); re-raise the interrupt afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    deferred = [signal.SIGINT]
    if signal.getsignal(signal.SIGTERM) is sigterm_as_interrupt:
        deferred.append(signal.SIGTERM)
    previous = {
        signum: signal.signal(signum, lambda signum, _frame: pressed.append(signum))
        for signum in deferred
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if pressed:
        raise KeyboardInterrupt


class Stack:
    """A Compose project loaded from stack files, started and torn down from Python.

    `env` is merged over the process environment for `${VAR}` interpolation; `profiles` is a
    profile name or a list of them; `root` is the engine data root (default: PYCOMPOSE_ROOT,
    else /var/lib/pycompose). `up_timeout` and `down_timeout` are what `up()` and `down()`
    (and so `with Stack(...)`) use when not given a timeout."""

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = (),
        project_name: str | None = None,
        env: Mapping[str, str] | None = None,
        profiles: Sequence[str] | str = (),
        project_directory: str | os.PathLike[str] | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        up_timeout: float = DEFAULT_TIMEOUT,
        down_timeout: float | None = None,
    ) -> None:
        if isinstance(files, str | os.PathLike):
            files = [files]
        cwd = Path.cwd()
        self.files = tuple(str((cwd / Path(f)).absolute()) for f in files)
        self.env = {**os.environ, **(env or {})}
        # A lone string is one profile, not one profile per letter.
        self.profiles = (profiles,) if isinstance(profiles, str) else tuple(profiles or ())
        self.up_timeout = up_timeout
        self.down_timeout = down_timeout
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
    def up(self, wait: bool = True, timeout: float | None = None) -> Stack:
        """Create and start every service (like `pycompose up -d`); with `wait`, return only
        once every container runs (and is healthy, where it has a healthcheck). `timeout`
        (default: the stack's `up_timeout`) bounds the wait for `depends_on` conditions and
        then the wait for readiness. A failure carries the state and log tail of the services
        that failed, read while they are still there."""
        from compose.orchestrator import UpOptions

        timeout = self.up_timeout if timeout is None else timeout
        self._started = True
        cancel = threading.Event()
        # A dependency that never turns healthy would otherwise keep `up` waiting forever.
        timer = threading.Timer(timeout, cancel.set)
        timer.daemon = True
        timer.start()
        try:
            self._orchestrator().up(UpOptions(), cancel=cancel)
        except ComposeError as exc:
            try:
                failure = self._up_failed(exc, timeout if cancel.is_set() else None)
            except Exception:  # reading the state failed too: the orchestrator's word stands
                raise exc from None
            raise failure from exc
        finally:
            timer.cancel()
        if wait:
            self.wait_ready(timeout)
        return self

    def _up_failed(self, exc: ComposeError, timed_out: float | None) -> ServiceNotReadyError:
        """`up` itself failed (a dependency exited non-zero or never became healthy): say why,
        with the state and log tail of every container that started but is not ready."""
        infos = self._orchestrator().containers()
        states = {info.name: _readiness(info) for info in infos}
        culprits = sorted(
            (
                info for info in infos
                if not states[info.name].ready and info.state.status.value != "created"
            ),
            key=lambda info: not states[info.name].failed,  # the ones that failed first
        )
        waited = f" (gave up waiting after {timed_out:g}s)" if timed_out is not None else ""
        parts = [f"stack {self.project_name} did not start{waited}: {exc.message}"]
        parts += [self._describe(info, states[info.name]) for info in culprits]
        return ServiceNotReadyError(
            "\n".join(parts),
            hint=f"the stack is left up for inspection: remove it with `{self.down_command()}`",
        )

    def _describe(self, info: ContainerInfo, readiness: _Readiness) -> str:
        service = info.labels.get(L.SERVICE, info.name)
        return f'service "{service}" ({info.name}): {readiness.detail}\n' + _tail_text(
            self.engine, info
        )

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
        parts = [self._describe(info, states[info.name]) for info in infos]
        head = "did not start" if failed else f"was not ready after {timeout:g}s"
        return ServiceNotReadyError(
            f"stack {self.project_name} {head}:\n" + "\n".join(parts),
            hint=f"the stack is left up for inspection: remove it with `{self.down_command()}`",
        )

    def down(self, volumes: bool = True, timeout: float | None = None) -> None:
        """Stop and remove the containers and networks (and named volumes unless told not to).
        Safe to call twice and after a failed `up`; a second Ctrl-C waits for it to finish.
        `timeout` (default: the stack's `down_timeout`, else each service's
        stop_grace_period) is the grace period before a container is killed."""
        from compose.orchestrator import DownOptions

        timeout = self.down_timeout if timeout is None else timeout
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
            if name in self.project.all_service_names:
                active = ", ".join(self.profiles) or "none"
                raise ServiceNotFoundError(
                    f"service {name} is defined but not enabled: its profiles are not active "
                    f"(active profiles: {active}; services: {known})",
                    hint="start the stack with its profile, e.g. Stack(..., profiles=[...])",
                )
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
