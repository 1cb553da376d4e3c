"""netdriver.netlink.run_in_netns: the work runs in the target network namespace, and the caller
is back in its own afterwards, whether it ran on a thread of its own (a process with other
threads) or on the caller's thread (a single-threaded process, such as a start-up helper)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

from engine import syscalls as sc
from netdriver.netlink import run_in_netns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (unshare a netns)")


def _netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


@pytest.fixture
def other_netns() -> Iterator[int]:
    """A descriptor of a fresh network namespace, made on a throwaway thread."""
    found: list[int] = []

    def make() -> None:
        sc.unshare(sc.CLONE_NEWNET)  # this thread only; it ends right after
        found.append(os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC))

    maker = threading.Thread(target=make)
    maker.start()
    maker.join()
    yield found[0]
    os.close(found[0])


def _in_child(work: Callable[[], bool]) -> bool:
    """`work()` in a forked child, which has a single thread; its verdict."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if work() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _round_trip(nsfd: int) -> bool:
    home = _netns_inode()
    seen = run_in_netns(nsfd, _netns_inode)
    return seen == os.fstat(nsfd).st_ino and _netns_inode() == home


def _failing_round_trip(nsfd: int) -> bool:
    home = _netns_inode()

    def fail() -> None:
        raise ValueError("refused")

    try:
        run_in_netns(nsfd, fail)
    except ValueError:
        return _netns_inode() == home
    return False


def test_single_threaded_caller_comes_back_to_its_namespace(other_netns: int) -> None:
    assert _in_child(lambda: threading.active_count() == 1 and _round_trip(other_netns))


def test_single_threaded_caller_comes_back_when_the_work_fails(other_netns: int) -> None:
    assert _in_child(lambda: _failing_round_trip(other_netns))


def test_caller_with_other_threads_never_leaves_its_namespace(other_netns: int) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert threading.active_count() > 1
        assert _round_trip(other_netns)
        assert _failing_round_trip(other_netns)
    finally:
        stop.set()
        other.join()
