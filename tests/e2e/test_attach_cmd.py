"""`attach` as a user types it: what the container prints from then on, its stdin fed, signals
passed on (or not), the detach keys, and its exit code as ours; compose's errors."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import os
import queue
import re
import select
import signal
import subprocess
import threading
import time

import pytest

from tests.conftest import PYCOMPOSE
from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

TICKER = (
    'image: busybox\nstop_grace_period: 0s\ncommand: ["sh", "-c", "i=0; while [ ! -f /stop ];'
    ' do echo tick $$i; i=$$((i+1)); sleep 0.2; done; echo bye >&2; exit 7"]\n'
)
READER = (
    'image: busybox\nstdin_open: true\nstop_grace_period: 0s\ncommand: ["sh", "-c", "while read'
    ' line; do echo got:$$line; [ $$line = quit ] && exit 3; done; echo eof"]\n'
)
TTY_READER = (
    'image: busybox\ntty: true\nstdin_open: true\nstop_grace_period: 0s\ncommand: ["sh", "-c",'
    ' "trap \'echo interrupted; exit 4\' INT; while true; do read -t 1 line &&'
    ' echo got:$$line; done"]\n'
)
TRAPPER = (
    'image: busybox\ncommand: ["sh", "-c", "trap \'echo term; exit 5\' TERM;'
    ' while true; do echo alive; sleep 0.2; done"]\n'
)


class Attached:
    """A `pycompose attach` running in the background, its stdout read line by line; its
    stdin a pipe, or with `terminal` a pty (docker's attach to a tty container needs one)."""

    def __init__(
        self, stack: Stack, *args: str, stdin: bool = False, terminal: bool = False
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["PYCOMPOSE_ROOT"] = str(stack.root)
        self.master = -1
        source: int = subprocess.PIPE if stdin else subprocess.DEVNULL
        if terminal:
            self.master, source = os.openpty()
        self.proc = subprocess.Popen(
            [PYCOMPOSE, "-p", stack.name, "attach", *args], cwd=stack.directory, env=env,
            stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        if terminal:
            os.close(source)
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if re.fullmatch(pattern, line):
                return line
        raise AssertionError(f"attach printed no line like {pattern!r}")

    def write(self, text: str) -> None:
        if self.master >= 0:
            os.write(self.master, text.encode())
            return
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        try:
            _out, err = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.master >= 0:
                os.close(self.master)
                self.master = -1
        return self.proc.returncode, err


def test_attach_shows_what_comes_after_and_returns_the_exit_code(stack: Stack) -> None:
    stack.write({"ticker": TICKER})
    stack.ok("up", "-d")
    time.sleep(1)  # some ticks before the attach: they are not shown again
    logged = [int(n) for n in re.findall(r"tick (\d+)", stack.ok("logs", "ticker").stdout)]
    attached = Attached(stack, "ticker")
    first = int(attached.wait_for(r"tick \d+").split()[1])
    assert first > max(logged)
    attached.wait_for(f"tick {first + 2}")
    stack.ok("exec", "ticker", "touch", "/stop")
    code, err = attached.finish()
    assert code == 7 and err == "bye\n"


def test_attach_feeds_stdin_where_the_detach_keys_are_plain_input(stack: Stack) -> None:
    """docker's detach keys work with a tty only: into a plain stdin they are input."""
    stack.write({"reader": READER})
    stack.ok("up", "-d")
    attached = Attached(stack, "--detach-keys", "ctrl-x", "reader", stdin=True)
    attached.write("hello\n")
    attached.wait_for("got:hello")
    attached.write("\x18\x10\x11keys\n")
    attached.wait_for("got:\x18\x10\x11keys")
    attached.write("quit\n")
    code, err = attached.finish()
    assert code == 3, err


@pytest.mark.parametrize("no_proxy", ["--no-sig-proxy", "--sig-proxy=false"])
def test_attach_passes_signals_on_unless_told_not_to(stack: Stack, no_proxy: str) -> None:
    stack.write({"trapper": TRAPPER})
    stack.ok("up", "-d")
    attached = Attached(stack, no_proxy, "trapper")
    attached.wait_for("alive")
    attached.proc.send_signal(signal.SIGINT)
    assert attached.finish()[0] == 130
    assert stack.states()[f"{stack.name}-trapper-1"] == "running"
    attached = Attached(stack, "trapper")
    attached.wait_for("alive")
    attached.proc.send_signal(signal.SIGTERM)
    attached.wait_for("term")
    assert attached.finish()[0] == 5


def test_attach_errors_are_composes(stack: Stack) -> None:
    tty = 'image: busybox\ntty: true\nstdin_open: true\ncommand: ["sleep", "300"]\n'
    stack.write({"web": SLEEPER, "term": tty + "stop_grace_period: 0s\n"})
    stack.ok("up", "-d", "term")
    for args, says in (
        (("nope",), "no such service: nope"),
        (("web",), 'service "web" is not running'),
        (("--index", "3", "term"), 'service "term" is not running container #3'),
        (("--detach-keys", "ctrl-", "term"), "invalid detach keys (ctrl-) provided"),
    ):
        result = stack.cli("attach", *args)
        assert result.returncode == 1 and says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr




def test_attach_types_into_a_tty_container_and_detaches_with_the_keys(stack: Stack) -> None:
    stack.write({"term": TTY_READER})
    stack.ok("up", "-d")
    attached = Attached(stack, "term", terminal=True)
    attached.write("hello\n")
    attached.wait_for("got:hello\r?")  # through the pty: echoed, CRLF line ends
    attached.write("\x10\x11")  # ctrl-p ctrl-q: docker's CLI ends with its proxy's error
    assert attached.finish() == (1, "read escape sequence\n")
    assert stack.states()[f"{stack.name}-term-1"] == "running"
    attached = Attached(stack, "--detach-keys", "ctrl-a,x", "term", terminal=True)
    attached.write("\x10again\n")  # not the start of our keys now: typed into the terminal
    attached.wait_for("got:\x10again\r?")
    attached.write("\x01x")
    assert attached.finish()[0] == 1
    assert stack.states()[f"{stack.name}-term-1"] == "running"


def test_attach_to_a_tty_passes_ctrl_c_as_a_key_not_signals(stack: Stack) -> None:
    stack.write({"term": TTY_READER})
    stack.ok("up", "-d")
    attached = Attached(stack, "term", terminal=True)
    attached.write("one\n")
    attached.wait_for("got:one\r?")
    attached.proc.send_signal(signal.SIGINT)  # not proxied with a tty, as in docker
    attached.finish()
    assert stack.states()[f"{stack.name}-term-1"] == "running"
    attached = Attached(stack, "term", terminal=True)
    attached.write("two\n")
    attached.wait_for("got:two\r?")
    attached.write("\x03")  # the terminal makes it SIGINT for the container's processes
    attached.wait_for(r"(\^C)?interrupted\r?")  # the terminal echoes ^C
    code, err = attached.finish()
    assert code == 4, err


def _on_a_terminal(stack: Stack, *args: str) -> int:
    """A pycompose command run with a pty as its stdin and stdout (no progress view: nothing
    reads the pty, whose buffer a live view could fill); its exit code."""
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    try:
        return subprocess.run(
            [PYCOMPOSE, "-p", stack.name, "--progress", "quiet", *args], cwd=stack.directory,
            env=env, stdin=slave,
            stdout=slave, stderr=slave, timeout=120, check=False,
        ).returncode
    finally:
        os.close(slave)
        os.close(master)


def test_run_d_from_a_terminal_gives_a_one_off_a_terminal_to_attach_to(stack: Stack) -> None:
    """docker compose's `run -d` takes its pty from our terminal (not from the service's
    `tty`): attached later, input is typed into it (echoed) and Ctrl-C is a key."""
    stack.write({"plain": TTY_READER.replace("tty: true\n", "")})
    assert _on_a_terminal(stack, "run", "-d", "plain") == 0
    assert [n for n in stack.states() if n.startswith(f"{stack.name}-plain-run-")]
    attached = Attached(stack, "plain", terminal=True)
    attached.write("typed\n")
    attached.wait_for("typed\r?")  # the terminal's echo: only a tty gives one
    attached.wait_for("got:typed\r?")
    attached.write("\x03")
    attached.wait_for(r"(\^C)?interrupted\r?")  # the terminal echoes ^C
    assert attached.finish()[0] == 4


SIZER = (
    'image: busybox\ntty: true\nstdin_open: true\nstop_grace_period: 0s\ncommand: ["sh", "-c",'
    ' "while true; do read -t 1 line && echo size:$$(stty size); done"]\n'
)


def _read_until(master: int, wanted: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 4096)
    assert wanted in seen, seen
    return seen


def test_attach_from_a_terminal_gives_the_tty_our_window_size(stack: Stack) -> None:
    import pty
    import struct
    import termios
    from fcntl import ioctl

    stack.write({"term": SIZER})
    stack.ok("up", "-d")
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    process = subprocess.Popen(
        [PYCOMPOSE, "-p", stack.name, "attach", "term"], cwd=stack.directory, env=env,
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )
    os.close(slave)
    try:
        os.write(master, b"x\r")
        _read_until(master, b"size:40 100")
        ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        process.send_signal(signal.SIGWINCH)  # not its controlling terminal: sent by hand
        time.sleep(0.5)
        os.write(master, b"y\r")
        _read_until(master, b"size:50 120")
        os.write(master, b"\x10\x11")
        assert process.wait(timeout=20) == 1  # detached: docker's "read escape sequence"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert stack.states()[f"{stack.name}-term-1"] == "running"


def test_attach_ends_with_the_run_a_restart_policy_replaces(stack: Stack) -> None:
    """docker's attach is to one run: when it ends, the attach ends with its exit code, though
    the restart policy starts the next at once; attaching again types into the new run."""
    quitter = TTY_READER.replace("done", "case $$line in quit) exit 3;; esac; done")
    stack.write({"term": quitter + "restart: always\n"})
    stack.ok("up", "-d")
    attached = Attached(stack, "term", terminal=True)
    attached.write("one\n")
    attached.wait_for("got:one\r?")
    attached.write("quit\n")
    code, err = attached.finish()
    assert code == 3, err
    deadline = time.monotonic() + 20
    while stack.states()[f"{stack.name}-term-1"] != "running":
        assert time.monotonic() < deadline, "the restart policy did not restart it"
        time.sleep(0.2)
    attached = Attached(stack, "term", terminal=True)
    attached.write("two\n")
    attached.wait_for("got:two\r?")
    attached.write("\x10\x11")
    assert attached.finish()[0] == 1


def test_attach_refuses_what_dockers_attach_refuses(stack: Stack) -> None:
    """A paused container, and a tty container with a stdin that is no terminal (docker's
    CheckTty), unless --no-stdin; nothing is refused for a plain container's piped stdin."""
    stack.write({"term": TTY_READER, "reader": READER})
    stack.ok("up", "-d")
    piped = stack.cli("attach", "term")
    assert piped.returncode == 1, piped
    assert "the input device is not a TTY" in piped.stderr, piped.stderr
    stack.ok("pause", "term")
    paused = stack.cli("attach", "--no-stdin", "term")
    assert "cannot attach to a paused container, unpause it first" in paused.stderr, paused
    stack.ok("unpause", "term")
    attached = Attached(stack, "--no-stdin", "term")
    time.sleep(3)  # attached by then (it prints nothing to wait for)
    stack.ok("restart", "term")  # its run ends: so does the attach, with its exit code
    assert attached.finish()[0] == 137
    attached = Attached(stack, "reader", stdin=True)
    attached.write("plain\n")
    attached.wait_for("got:plain")
    attached.write("quit\n")
    assert attached.finish()[0] == 3


def test_every_attach_from_a_terminal_signals_a_window_change(stack: Stack) -> None:
    """docker's CLI sizes the tty one row and column larger, then to our size: a program at its
    prompt redraws for the second attach too (an unchanged size sends no SIGWINCH)."""
    import struct
    import termios
    from fcntl import ioctl

    stack.write({"term": (
        'image: busybox\ntty: true\nstdin_open: true\nstop_grace_period: 0s\ncommand: ["sh",'
        ' "-c", "trap \'echo winch\' WINCH; echo ready; while true; do sleep 0.2; done"]\n'
    )})
    stack.ok("up", "-d")
    deadline = time.monotonic() + 20
    while "ready" not in stack.ok("logs", "term").stdout:  # its trap is set
        assert time.monotonic() < deadline
        time.sleep(0.2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    for _ in range(2):
        master, slave = os.openpty()
        ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        process = subprocess.Popen(
            [PYCOMPOSE, "-p", stack.name, "attach", "term"], cwd=stack.directory, env=env,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        )
        os.close(slave)
        try:
            _read_until(master, b"winch")
            os.write(master, b"\x10\x11")
            assert process.wait(timeout=20) == 1
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            os.close(master)
