"""`init: true` where the host has no tini: a minimal pid 1 (like tini/docker-init) written as a
code path of the runtime. With tini installed, engine.docker_init runs it instead (as Docker
does; no resident Python process per container).

The container's first process stays pid 1 after forking the real command: it forwards every
catchable signal to that child, reaps every zombie re-parented to it (pid 1's job in a pid
namespace), and exits with the child's status as soon as the child exits (the kernel then
kills whatever is left in the namespace, as with tini).
"""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import NoReturn

# Never forwarded: SIGCHLD is ours (reaping); SIGKILL/SIGSTOP cannot be caught.
_NOT_FORWARDED = {signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP}


def _status_to_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def forwarded_signals() -> list[signal.Signals]:
    return [s for s in signal.valid_signals() if isinstance(s, signal.Signals)
            and s not in _NOT_FORWARDED and s < signal.SIGRTMIN]


def run_as_init(child: int) -> NoReturn:
    """Forward signals to `child`, reap everything, exit with the child's status."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for sig in forwarded_signals():
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Our copies of the container's stdio must not keep the log stream open.
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            os._exit(_status_to_code(status))
