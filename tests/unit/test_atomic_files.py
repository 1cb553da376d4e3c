"""engine.atomic_files.write_atomic: temp file + rename, for writers in any number of processes
and threads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from engine.atomic_files import write_atomic
from engine.containers import _tmp_writer


def test_threads_of_one_process_write_one_file_at_once(tmp_path: Path) -> None:
    """Concurrent starts of one container in one caller each write its runtime spec: with a
    temp name per process only, one thread's rename took another's temp file away
    (FileNotFoundError in the start)."""
    target = tmp_path / "runtime.json"
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        try:
            for _ in range(200):
                write_atomic(target, f"{n}\n".encode(), durable=False)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_text().strip() in {str(n) for n in range(8)}
    assert [p.name for p in tmp_path.iterdir()] == ["runtime.json"]  # no temp file left


def test_a_temp_name_still_names_its_writer_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeps of leftovers read the writing process from the temp name's end: a write
    cut short before its rename leaves a temp file that names this process."""
    names: list[str] = []

    def cut_short(src: str, dst: str) -> None:
        names.append(os.path.basename(src))
        raise OSError(5, "cut short")

    monkeypatch.setattr(os, "replace", cut_short)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "state.json", b"{}", durable=False)
    assert len(names) == 1 and _tmp_writer(names[0]) == str(os.getpid())
