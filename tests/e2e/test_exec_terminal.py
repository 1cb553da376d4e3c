"""`exec`'s pty as docker compose chooses it: from our output terminal (not our input), and
refused, as docker's CLI refuses it, when it would be fed from a stdin that is no terminal."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import os
import select
import subprocess
import time
import tty

from tests.conftest import PYCOMPOSE
from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401


def _exec_to_a_terminal(stack: Stack, *args: str, given: bytes = b"") -> tuple[int, bytes]:
    """`pycompose exec ARGS` with its stdout and stderr a pty and its stdin a pipe fed
    `given`; its exit code and what the pty showed."""
    master, slave = os.openpty()
    tty.setraw(slave)  # the bytes as written: no CR added before each LF on our side
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    process = subprocess.Popen(
        [PYCOMPOSE, "-p", stack.name, "exec", *args], cwd=stack.directory, env=env,
        stdin=subprocess.PIPE, stdout=slave, stderr=slave,
    )
    os.close(slave)
    shown = b""
    try:
        assert process.stdin is not None
        process.stdin.write(given)
        process.stdin.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: every writer closed it
                    break
                if not data:
                    break
                shown += data
            elif process.poll() is not None:
                break
        return process.wait(timeout=30), shown
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def test_piped_input_with_a_terminal_output_needs_T(stack: Stack) -> None:
    stack.write({"web": SLEEPER})
    stack.ok("up", "-d")
    code, shown = _exec_to_a_terminal(stack, "web", "cat", given=b"hi\n")
    assert code == 1 and b"the input device is not a TTY" in shown, shown
    code, shown = _exec_to_a_terminal(stack, "-T", "web", "cat", given=b"hi\n")
    assert (code, shown) == (0, b"hi\n"), shown
    # without our stdin the pty is given: docker's is chosen by the output terminal
    script = "[ -t 0 ] && [ -t 1 ] && echo tty; exit 5"
    code, shown = _exec_to_a_terminal(stack, "--interactive=false", "web", "sh", "-c", script)
    assert (code, shown) == (5, b"tty\r\n"), shown
