"""`exec`'s body without Typer: run a command in a service's running container and return its
exit code. The Typer command (compose.cli.exec_cmd) and the fast path (compose.cli.fast_exec,
which spares a probe in a test suite or a script the ~40 ms of importing Typer) share it."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass

from compose import labels as L
from compose.cli.oneoff import env_flags
from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from compose.cli.context import GlobalOptions
    from compose.orchestrator import Orchestrator
    from engine.api import Engine


@dataclass(frozen=True)
class ExecRequest:
    """`exec`'s flags and words (the Typer command's parameters)."""

    service: str
    command: tuple[str, ...]
    no_tty: bool = False
    interactive: bool = True  # docker's -i (on by default): our stdin is the process's
    detach: bool = False
    privileged: bool = False
    env: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    index: int = 1


def execute(flags: GlobalOptions, request: ExecRequest) -> int:
    """Run it; the exec'd process's exit code (an engine refusal's code after its message)."""
    from compose.cli.session import load_with
    from compose.orchestrator import Orchestrator
    from engine.api import Engine, ExecError

    orch = Orchestrator(Engine(), load_with(flags), lambda _e: None)
    target = _running_container(orch, request.service, request.index)
    try:
        if request.detach:
            orch.engine.exec_detached(
                target, list(request.command), env=env_flags(request.env),
                workdir=request.workdir, user=request.user, privileged=request.privileged,
            )
            return 0
        return _attached(orch.engine, target, request)
    except ExecError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code


def _running_container(orch: Orchestrator, service: str, index: int) -> str:
    from engine.api import ContainerStatus

    orch.check_services((service,))
    for info in orch.containers((service,)):
        if info.status is ContainerStatus.RUNNING and info.labels.get(L.NUMBER) == str(index):
            return info.id
    which = f" container #{index}" if index != 1 else ""
    raise ComposeError(f'service "{service}" is not running{which}')


def _attached(engine: Engine, target: str, request: ExecRequest) -> int:
    """Ctrl-C reaches the whole foreground process group, the exec'd process included: let it
    decide, and report its real exit status (130 if SIGINT killed it)."""
    from compose.cli.terminal import raw_terminal

    # docker compose: a pty when our output is a terminal, unless -T; fed from a stdin that
    # is none, docker's CLI refuses it (CheckTty): piped input would be typed as keys.
    use_tty = not request.no_tty and os.isatty(1)
    if use_tty and request.interactive and not os.isatty(0):
        raise ComposeError("the input device is not a TTY", hint="use -T to run without one")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    # --interactive=false: the process reads an empty stdin, as docker's exec without -i
    stdin = 0 if request.interactive else os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    detach = None
    if use_tty and request.interactive:  # docker's CLI scans a terminal's input only
        from compose.cli.detach_keys import DetachScanner, configured_detach_keys

        detach = DetachScanner(configured_detach_keys()).feed
    try:
        sys.stdout.flush()
        with raw_terminal(use_tty and request.interactive):
            code = engine.exec_attached(
                target, list(request.command), env=env_flags(request.env),
                workdir=request.workdir, user=request.user, stdio=(stdin, 1, 2), tty=use_tty,
                privileged=request.privileged, detach=detach,
            )
        if code is None:  # detached: docker's CLI ends with its escape proxy's error
            print("read escape sequence", file=sys.stderr, flush=True)
            return 1
        return code
    finally:
        signal.signal(signal.SIGINT, previous)
        if not request.interactive:
            os.close(stdin)
