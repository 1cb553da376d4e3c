"""engine.signal_delivery: which signals a process would take, read from /proc."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from engine.signal_delivery import resend_when_taken, takes_signal

CHILD = """
import signal, sys, time
signal.signal(signal.SIGUSR1, lambda *_: None)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP])
print("ready", flush=True)
time.sleep(30)
"""


def test_caught_and_blocked_signals_are_taken_and_default_ones_are_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert takes_signal(child.pid, signal.SIGUSR1)  # a handler
        assert takes_signal(child.pid, signal.SIGHUP)  # blocked: queued, never dropped
        assert not takes_signal(child.pid, signal.SIGUSR2)  # default action
    finally:
        child.kill()
        child.wait()


def test_a_process_that_is_gone_counts_as_taking_it() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert takes_signal(child.pid, signal.SIGTERM)


def test_resend_gives_up_on_a_process_that_never_takes_it() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        began = time.monotonic()
        resend_when_taken({"c": (child.pid, None, signal.SIGUSR2)})
        assert time.monotonic() - began < 2.0  # bounded by its window
        assert child.poll() is None  # never sent again: it would have killed it
    finally:
        child.kill()
        child.wait()


def test_a_process_waiting_in_sigtimedwait_takes_it() -> None:
    """tini's main loop: /proc shows the awaited signals unblocked while it waits."""
    waiter = (
        "import signal; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2]); "
        "print('ready', flush=True); signal.sigtimedwait([signal.SIGUSR2], 30)"
    )
    child = subprocess.Popen([sys.executable, "-c", waiter], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until it sleeps in the call
            with open(f"/proc/{child.pid}/syscall", encoding="ascii") as handle:
                if not handle.read().startswith("running"):
                    break
            time.sleep(0.01)
        assert takes_signal(child.pid, signal.SIGUSR2)
    finally:
        child.kill()
        child.wait()
