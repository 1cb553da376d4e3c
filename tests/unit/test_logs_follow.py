"""`logs -f` must not lose lines: a log file that appears late, lines written while the
history is read, and a rotation under the follower."""

from __future__ import annotations

import threading
import time
from itertools import pairwise
from pathlib import Path

from engine.log_writer import LogWriter
from engine.logs import follow_logs, read_logs


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


def _lines(path: Path, count: int, start: int = 0) -> list[bytes]:
    return [f"line-{n}\n".encode() for n in range(start, start + count)]


def _follow_while_writing(tmp_path: Path, rotations_between_polls: int) -> list[str]:
    """A writer with a small max-size; the follower looks after every batch of writes that
    rotates the file about `rotations_between_polls` times."""
    path = tmp_path / "c-json.log"
    writer = LogWriter(path, max_size=1000, max_file=200)
    written = 0
    done = False

    def running() -> bool:
        return not done

    follower = follow_logs(path, running, pause=lambda _: None)
    seen: list[str] = []
    for _ in range(20):
        for data in _lines(path, 15 * rotations_between_polls, written):  # ~15 records a file
            writer.feed("stdout", data)
        written += 15 * rotations_between_polls
        while (line := next(follower)).text != f"line-{written - 1}\n":
            seen.append(line.text)
        seen.append(line.text)
    done = True
    writer.close()
    seen.extend(line.text for line in follower)
    assert len(list(tmp_path.iterdir())) > 20 * rotations_between_polls // 2  # it did rotate
    return seen


def test_follow_reads_a_rotated_file_to_its_end_before_the_new_one(tmp_path: Path) -> None:
    seen = _follow_while_writing(tmp_path, 1)
    assert seen == [f"line-{n}\n" for n in range(len(seen))] and len(seen) == 300


def test_follow_walks_several_rotations_between_two_polls(tmp_path: Path) -> None:
    seen = _follow_while_writing(tmp_path, 5)
    assert seen == [f"line-{n}\n" for n in range(len(seen))] and len(seen) == 1500


def test_history_and_tail_read_every_rotated_file_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path, max_size=1000, max_file=50)
    for data in _lines(path, 200):
        writer.feed("stdout", data)
    writer.close()
    everything = [line.text for line in read_logs(path)]
    assert everything == [f"line-{n}\n" for n in range(200)]
    assert [line.text for line in read_logs(path, tail=3)] == everything[-3:]
    followed = [line.text for line in follow_logs(path, lambda: False, tail=20)]
    assert followed == everything[-20:]


def test_a_follower_that_fell_behind_deleted_files_goes_on_with_the_oldest_left(
    tmp_path: Path,
) -> None:
    """max-file drops files the follower had not got to: the lines in them are gone (as
    with Docker); it reads the file it holds to its end, then goes on with the oldest one
    left instead of stalling."""
    path = tmp_path / "c-json.log"
    writer = LogWriter(path, max_size=1000, max_file=3)
    writer.feed("stdout", b"line-0\n")
    follower = follow_logs(path, lambda: True, pause=lambda _: None)
    assert next(follower).text == "line-0\n"
    for data in _lines(path, 199, 1):
        writer.feed("stdout", data)
    numbers = [int(next(follower).text.split("-")[1]) for _ in range(30)]
    gaps = [(a, b) for a, b in pairwise(numbers) if b != a + 1]
    assert len(gaps) == 1 and gaps[0][0] < 20 and gaps[0][1] > 150, numbers
    writer.close()


def test_a_log_truncated_in_place_is_read_from_its_start(tmp_path: Path) -> None:
    """max-file 1: the writer truncates the file it writes: the follower starts over."""
    path = tmp_path / "c-json.log"
    writer = LogWriter(path, max_size=500, max_file=1)  # six records fit
    follower = follow_logs(path, lambda: True, pause=lambda _: None)
    writer.feed("stdout", b"one\n")
    assert next(follower).text == "one\n"
    writer.feed("stdout", b"two\n" * 5)
    assert [next(follower).text for _ in range(5)] == ["two\n"] * 5
    writer.feed("stdout", b"three\n")  # rotates: the file now holds only this
    assert next(follower).text == "three\n"
    writer.close()


def test_following_with_a_tail_of_0_shows_only_what_comes_after(tmp_path: Path) -> None:
    """`attach` follows with tail 0: the lines already there are not shown."""
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"before\n")

    def running() -> bool:  # asked first once the history was read: more is written now
        writer.feed("stdout", b"after\n")
        return True

    follower = follow_logs(path, running, tail=0, pause=lambda _: None)
    assert next(follower).text == "after\n"
    writer.close()


def test_a_tail_is_taken_when_following_starts_not_at_the_first_read(tmp_path: Path) -> None:
    """`attach` (tail 0) starts following, then feeds the container's stdin from another
    thread: a line written before its reader's first `next()` is new, not history to drop."""
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"old\n")
    calls = iter([True, False])
    follower = follow_logs(path, lambda: next(calls, False), tail=0, poll=0.01)
    writer.feed("stdout", b"answer\n")
    writer.close()
    assert [line.text for line in follower] == ["answer\n"]
