"""`logs -f` must not lose lines: a log file that appears late, lines written while the
history is read, and a rotation under the follower."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from engine.logs import LogWriter, follow_logs


def test_follow_waits_for_a_log_file_created_after_it_started(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    done = threading.Event()

    def write_later() -> None:
        time.sleep(0.2)
        writer = LogWriter(path)
        writer.feed("stdout", b"late line\n")
        writer.close()
        done.set()

    threading.Thread(target=write_later).start()
    lines = list(follow_logs(path, lambda: not done.is_set(), poll=0.01))
    assert [line.text for line in lines] == ["late line\n"]


def test_lines_already_in_the_history_are_not_repeated(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"one\ntwo\n")
    calls = iter([True, True, False])

    def running() -> bool:
        return next(calls, False)

    follower = follow_logs(path, running, poll=0.01)
    first = next(follower)  # history read; now more is written
    writer.feed("stderr", b"three\n")
    writer.close()
    rest = list(follower)
    assert [first.text, *(line.text for line in rest)] == ["one\n", "two\n", "three\n"]
    assert rest[-1].stream == "stderr"
