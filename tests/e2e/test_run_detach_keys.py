"""`run -it`'s detach keys as a user at a terminal uses them: ctrl-p ctrl-q ends `run` with 0
and leaves the one-off running with its terminal (docker's daemon keeps it); `attach` types
into it again, `logs` shows what it printed since; `run --rm` detached is removed once it
ends."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time

from tests.conftest import PYCOMPOSE
from tests.e2e.test_attach_cmd import Attached
from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

READER = (
    'image: busybox\nstop_grace_period: 0s\ncommand: ["sh", "-c", "while true; do'
    ' read -t 1 line && echo got:$$line; [ \\"$$line\\" = quit ] && exit 3; done"]\n'
)


class OnTerminal:
    """A pycompose command whose stdin, stdout and stderr are a pty we type into."""

    def __init__(self, stack: Stack, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["PYCOMPOSE_ROOT"] = str(stack.root)
        self.proc = subprocess.Popen(
            [PYCOMPOSE, "-p", stack.name, "--progress", "quiet", *args], cwd=stack.directory,
            env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def read_until(self, wanted: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while wanted not in self.seen and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the command ended and closed the terminal
                    break
        assert wanted in self.seen, self.seen

    def ended(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.master, 4096)
        assert self.proc.poll() is not None, f"still running; it printed {self.seen!r}"
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def _one_off(stack: Stack, service: str) -> tuple[str, str] | None:
    """(name, state) of the service's one-off, if there is one."""
    return next(((n, s) for n, s in stack.states().items()
                 if n.startswith(f"{stack.name}-{service}-run-")), None)


def _run_then_detach(stack: Stack, *run_flags: str) -> None:
    """`run [FLAGS] svc` at a terminal: type a line, see it answered, detach with ctrl-p
    ctrl-q; `run` ends with 0 and the one-off runs on."""
    stack.write({"svc": READER})
    run = OnTerminal(stack, "run", *run_flags, "svc")
    try:
        os.write(run.master, b"one\r")
        run.read_until(b"got:one")
        os.write(run.master, b"\x10\x11")  # ctrl-p ctrl-q
        assert run.ended() == 0, run.seen
    finally:
        run.close()
    found = _one_off(stack, "svc")
    assert found is not None and found[1] == "running", stack.states()


def test_detach_keys_leave_run_it_running_to_attach_to_again(stack: Stack) -> None:
    _run_then_detach(stack)
    # Its terminal, typed into again; what it prints since is logged (attach follows the log)
    attached = Attached(stack, "svc", terminal=True)
    attached.write("two\n")
    attached.wait_for("got:two\r?")
    attached.write("quit\n")
    code, err = attached.finish()
    assert code == 3, err


def test_a_detached_run_rm_is_removed_once_it_ends(stack: Stack) -> None:
    _run_then_detach(stack, "--rm")
    attached = Attached(stack, "svc", terminal=True)
    attached.write("quit\n")
    assert attached.finish()[0] == 3
    deadline = time.monotonic() + 20
    while _one_off(stack, "svc") is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _one_off(stack, "svc") is None, stack.states()


def test_keys_that_only_begin_the_sequence_reach_the_container(stack: Stack) -> None:
    stack.write({"svc": READER})
    run = OnTerminal(stack, "run", "--rm", "svc")
    try:
        os.write(run.master, b"\x10x\r")  # ctrl-p then not ctrl-q: both typed
        run.read_until(b"got:\x10x")
        os.write(run.master, b"quit\r")
        assert run.ended() == 3, run.seen
        assert run.seen.count(b"got:\x10x") == 1, run.seen  # logged, but not shown twice
    finally:
        run.close()


def test_detach_keys_leave_an_exec_it_running(stack: Stack) -> None:
    """docker's `exec -it`: the keys end the client with its proxy's error (exit 1); the
    exec'd process goes on, its terminal kept and its output drained."""
    stack.write({"svc": SLEEPER})
    stack.ok("up", "-d")
    # ~100 KB a second: a terminal nobody drains fills within a second and blocks it
    ticker = "echo ready; while true; do yes tick | head -n 2000; touch /tmp/alive; sleep 0.1; done"
    execd = OnTerminal(stack, "exec", "svc", "sh", "-c", ticker)
    try:
        execd.read_until(b"ready")
        os.write(execd.master, b"\x10\x11")
        assert execd.ended() == 1, execd.seen
        assert b"read escape sequence" in execd.seen, execd.seen
    finally:
        execd.close()
    time.sleep(1)
    alive = stack.cli("exec", "-T", "svc", "sh", "-c",
                      "rm -f /tmp/alive; sleep 1; test -f /tmp/alive")
    assert alive.returncode == 0, "the exec'd process did not go on after the detach"


def test_attach_joins_a_run_it_from_another_terminal(stack: Stack) -> None:
    """docker allows a second client on an attached `run`: both type into its terminal and
    see what it prints; its end is both clients' exit code."""
    stack.write({"svc": READER})
    run = OnTerminal(stack, "run", "--rm", "svc")
    try:
        os.write(run.master, b"one\r")
        run.read_until(b"got:one")
        attached = Attached(stack, "svc", terminal=True)
        attached.write("two\n")
        attached.wait_for("got:two\r?")  # its own input, through the shared terminal
        run.read_until(b"got:two")
        os.write(run.master, b"three\r")
        attached.wait_for("got:three\r?")  # the run's input, seen by the attach
        attached.write("quit\n")
        assert attached.finish()[0] == 3
        assert run.ended() == 3, run.seen
    finally:
        run.close()
    deadline = time.monotonic() + 20
    while _one_off(stack, "svc") is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _one_off(stack, "svc") is None, stack.states()
