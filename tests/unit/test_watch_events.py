"""The file event source: what is watched how, and changes arriving through it (a real
inotify watch on a temporary directory: no root needed)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.watch_events import FileEvents, watch_roots


def test_directories_deep_files_and_missing_paths_through_their_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "app.ini").write_text("x")
    deep, flat = watch_roots([str(tmp_path / "src"), str(tmp_path / "app.ini"),
                              str(tmp_path / "later.txt"), str(tmp_path / "src" / "x.py")])
    assert deep == [str(tmp_path / "src")]
    assert flat == [str(tmp_path)]  # src's own files are watched with src already
    with pytest.raises(ComposeError, match="neither it nor its directory exists"):
        watch_roots([str(tmp_path / "no" / "where")])


def _collect(events: FileEvents, wanted: str, timeout: float = 10.0) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        seen |= events.next_changes(0.1)
    return seen


def test_a_file_replaced_by_rename_is_seen_every_time(tmp_path: Path) -> None:
    target = tmp_path / "app.ini"
    target.write_text("0")
    stop = threading.Event()
    events = FileEvents([str(target)], stop)
    events.start()
    try:
        for n in range(1, 3):  # as editors save: a temporary file renamed over the old one
            (tmp_path / "app.ini.tmp").write_text(str(n))
            os.rename(tmp_path / "app.ini.tmp", target)
            assert str(target) in _collect(events, str(target)), f"save {n} went unseen"
    finally:
        stop.set()
        events.join(timeout=5)
