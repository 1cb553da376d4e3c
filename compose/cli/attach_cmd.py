"""`attach`: a service's running container's output from now on, our stdin into its stdin
(when it was created with one open), signals passed on, and its exit code as ours once it
stops (`docker compose attach`).

The container's stdio belongs to its supervisor, which writes its output to the log: the
output is followed there (line by line, as the log holds it). Its stdin (`stdin_open`) is a
FIFO the supervisor holds open, which we write into (Engine.open_running_stdin); with a tty,
the supervisor types what arrives there into the pty's master. Then, as docker's CLI does, our
terminal is raw and signals are not proxied: Ctrl-C reaches the container as a key, which its
terminal turns into SIGINT; and its terminal takes our window size."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

import typer

from compose.cli.detach_keys import DEFAULT_DETACH_KEYS, DetachScanner, parse_detach_keys
from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    from datetime import datetime

    from engine.api import ContainerInfo, Engine, LogLine

# What `--sig-proxy` passes on (docker's proxy passes all but the ones a client must keep).
PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                   signal.SIGUSR1, signal.SIGUSR2)
_READ_SIZE = 4096


class _Session:
    """One attachment: ends when the joined run's output ends (it stopped, or a restart
    replaced it) or on detach."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.detached = False
        # The joined run's end, once seen: a line after it is the next run's, which the
        # follower may read before it sees the end.
        self.cutoff: datetime | None = None

    def pump_output(self, lines: Iterator[LogLine]) -> None:
        from compose.human_time import parse_rfc3339

        try:
            for line in lines:
                if self.cutoff is not None and parse_rfc3339(line.time) > self.cutoff:
                    return  # the next run's: docker's attach ended with the last one
                stream = sys.stderr if line.stream == "stderr" else sys.stdout
                stream.write(line.text)
                stream.flush()
        finally:
            self.done.set()

    def stop_after(self, finished_at: str | None) -> None:
        from compose.human_time import parse_rfc3339

        if finished_at:
            self.cutoff = parse_rfc3339(finished_at)

    def pump_input(self, target: int, keys: bytes) -> None:
        """Our stdin into the container's until our EOF (the container's stdin stays open:
        not StdinOnce) or the detach keys (none: everything is input)."""
        scanner = DetachScanner(keys)
        try:
            while True:
                data = os.read(0, _READ_SIZE)
                if not data:
                    return
                forward, detach = scanner.feed(data)
                if forward:
                    os.write(target, forward)
                if detach:
                    self.detached = True
                    self.done.set()
                    return
        except OSError:  # the container stopped reading (gone): the output side ends it
            return
        finally:
            os.close(target)


def _proxy_signals(engine: Engine, container_id: str) -> None:
    from engine.api import EngineError

    def forward(signum: int, _frame: object) -> None:
        try:
            engine.kill_container(container_id, signal.Signals(signum).name)
        except EngineError:  # it stopped meanwhile: its exit ends the attach
            return

    for sig in PROXIED_SIGNALS:
        signal.signal(sig, forward)


def _follow_window_size(engine: Engine, container_id: str) -> None:
    """docker's attach to a tty from a terminal: the container's terminal takes our size, now
    and on every SIGWINCH. First one row and column more, as docker's CLI: a size that does
    not change sends no SIGWINCH, and the program (a shell at its prompt) would not redraw for
    an attach after the first."""
    import fcntl
    import struct
    import termios

    from engine.api import EngineError

    def resize(*_: object, more: int = 0) -> None:
        try:
            packed = fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8)
            rows, columns = struct.unpack("HHHH", packed)[:2]
            engine.resize_tty(container_id, rows + more, columns + more)
        except (OSError, EngineError):  # no size to give, or it stopped meanwhile
            return

    resize(more=1)
    resize()
    signal.signal(signal.SIGWINCH, resize)


def _open_stdin(engine: Engine, container_id: str, service: str) -> int:
    from engine.api import EngineError

    try:
        return engine.open_running_stdin(container_id)
    except EngineError as exc:
        hint = f"{exc.hint}, or attach with --no-stdin" if exc.hint else "attach with --no-stdin"
        raise ComposeError(f'service "{service}": {exc}', hint=hint) from exc


def attach(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="Service name"),
    detach_keys: str = typer.Option(
        None, "--detach-keys", help="Override the key sequence for detaching from a container."
    ),
    index: int = typer.Option(
        0, "--index", help="index of the container if service has multiple replicas."
    ),
    no_stdin: bool = typer.Option(False, "--no-stdin", help="Do not attach STDIN"),
    sig_proxy: bool = typer.Option(
        True, "--sig-proxy/--no-sig-proxy", help="Proxy all received signals to the process"
    ),
) -> None:
    """Attach local standard input, output, and error streams to a service's running
    container."""
    from compose.cli.service_container import running_container
    from compose.cli.session import orchestrator

    keys = parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS)
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    info = running_container(orch, service, index)
    _check_attachable(info, attach_stdin=not no_stdin)
    spec = info.record.spec
    stdin_target: int | None = None
    if spec.stdin_open and not no_stdin:
        stdin_target = _open_stdin(orch.engine, info.id, service)
    if spec.tty and os.isatty(1):  # before our input can reach it
        _follow_window_size(orch.engine, info.id)
    session = _Session()
    lines = orch.engine.logs(info.id, follow=True, tail=0, run_only=True)
    orch.engine.record_attach(info.id)  # Docker's `attach` event, once the streams are open
    if sig_proxy and not spec.tty:  # docker passes a tty's signals as keys instead
        _proxy_signals(orch.engine, info.id)
    from compose.cli.attached_run import look
    from compose.cli.terminal import raw_terminal

    end = None
    # Raw before the first key is read: typed in cooked mode, ctrl-q (IXON) and ctrl-c were
    # the terminal's, and a line was held back until its Enter.
    with raw_terminal(spec.tty and stdin_target is not None and os.isatty(0)):
        threading.Thread(target=session.pump_output, args=(lines,), daemon=True).start()
        if stdin_target is not None:
            # docker's detach keys work with a tty only (its CLI's escape proxy is set up
            # with the raw terminal): into a plain stdin they are input like any other.
            scanned = keys if spec.tty else b""
            threading.Thread(
                target=session.pump_input, args=(stdin_target, scanned), daemon=True
            ).start()
        while not session.done.wait(0.1):
            if end is None and (end := look(orch.engine, info)) is not None:
                session.stop_after(end.finished_at)
    if session.detached:  # docker's CLI: its escape proxy's error, once the terminal is back
        print("read escape sequence", file=sys.stderr, flush=True)
        raise typer.Exit(1)
    # The output ended: the run has ended, or is just being recorded as ended.
    deadline = time.monotonic() + 5.0
    while end is None and time.monotonic() < deadline:
        end = look(orch.engine, info)
        if end is None:
            time.sleep(0.05)
    raise typer.Exit(end.exit_code if end is not None else 0)


def _check_attachable(info: ContainerInfo, attach_stdin: bool) -> None:
    """docker's attach refuses a container that is not running now, and a tty container fed
    from a stdin that is no terminal (its CheckTty): the input would be typed as keys."""
    from engine.api import ContainerStatus

    if info.state.paused:
        raise ComposeError("cannot attach to a paused container, unpause it first")
    if info.status is ContainerStatus.RESTARTING:
        raise ComposeError("cannot attach to a restarting container, wait until it is running")
    if info.record.spec.tty and attach_stdin and not os.isatty(0):
        raise ComposeError("the input device is not a TTY", hint="attach with --no-stdin")


def register(app: typer.Typer) -> None:
    app.command()(attach)
