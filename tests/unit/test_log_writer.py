"""The supervisor's json-file writer: records cut at 16 KiB as Docker's, output with no
newline logged after a short wait, and a cost linear in the output however it is split."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.log_writer import PARTIAL_DELAY, RECORD_BYTES, LogWriter


def _records(path: Path) -> list[str]:
    return [json.loads(raw)["log"] for raw in path.read_text().splitlines()]


def test_a_long_line_becomes_16k_partial_records_then_its_end(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"x" * (RECORD_BYTES * 2 + 5) + b"\nnext\n")
    writer.close()
    assert _records(path) == ["x" * RECORD_BYTES, "x" * RECORD_BYTES, "xxxxx\n", "next\n"]


def test_a_cut_never_splits_a_character(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"a" + "é".encode() * RECORD_BYTES + b"\n")
    writer.close()
    records = _records(path)
    assert "".join(records) == "a" + "é" * RECORD_BYTES + "\n"
    assert "\ufffd" not in "".join(records)
    assert all(len(r.encode()) <= RECORD_BYTES for r in records[:-1])


def test_unterminated_output_waits_for_its_newline_or_16k(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"half ")
    writer.feed("stdout", b"a line\nprogress 1\r")
    assert _records(path) == ["half a line\n"]
    for _ in range(RECORD_BYTES // 8):
        writer.feed("stdout", b"\rprogres")
    assert [len(r) for r in _records(path)[1:]] == [RECORD_BYTES]
    writer.close()


def test_unterminated_output_is_due_after_a_short_wait(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    assert writer.next_due() is None
    before = time.monotonic()
    writer.feed("stderr", b"progress 99%\r")
    due = writer.next_due()
    assert due is not None and before + PARTIAL_DELAY <= due <= time.monotonic() + PARTIAL_DELAY
    writer.flush_due(due - 0.01)
    assert _records(path) == []
    writer.flush_due(due)
    assert _records(path) == ["progress 99%\r"]
    assert writer.next_due() is None
    writer.feed("stderr", b"done\n")
    writer.close()
    assert _records(path) == ["progress 99%\r", "done\n"]


def test_the_streams_keep_their_own_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    writer = LogWriter(path)
    writer.feed("stdout", b"out ")
    writer.feed("stderr", b"err\n")
    writer.feed("stdout", b"line\n")
    writer.close()
    lines = [(json.loads(raw)["stream"], json.loads(raw)["log"])
             for raw in path.read_text().splitlines()]
    assert lines == [("stderr", "err\n"), ("stdout", "out line\n")]


def _feed_time(tmp_path: Path, total: int) -> float:
    writer = LogWriter(tmp_path / f"c{total}-json.log")
    start = time.process_time()
    for _ in range(total // 16):
        writer.feed("stdout", b"progress 12345\r ")  # 16 bytes a read, never a newline
    spent = time.process_time() - start
    writer.close()
    return spent


def test_output_without_newlines_costs_linear_time(tmp_path: Path) -> None:
    """`partial + data` on every read was quadratic: 100 MB with no newline held the
    supervisor at 100% CPU for minutes. Eight times the output must cost about eight times
    the time, not sixty-four."""
    small = min(_feed_time(tmp_path, 1 << 18) for _ in range(3))
    large = _feed_time(tmp_path, 2 << 20)
    assert large < small * 8 * 3
