"""Reading a json-file log and its rotations (<log>.N … <log>.1, <log>) by file identity.

The writer renames the files while we read them. A name is only a way to find a file: once
open, a file is followed through its descriptor, and when the name <log> points to another
file, the one we hold is read to its end before its successor is opened — found as the file
one rotation index newer than wherever ours went, however many rotations happened since.
So a reader never skips or repeats a record, unless a file was deleted (max-file) or
truncated (max-file 1) before it got to it."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from io import FileIO as _File
from pathlib import Path

_READ_SIZE = 65536
_ATTEMPTS = 50  # opening the whole chain again while the writer keeps rotating under it


def _rotated(path: Path, index: int) -> Path:
    return path.with_name(f"{path.name}.{index}")


def _rotation_indexes(path: Path) -> list[int]:
    """The rotated files' indexes, oldest (highest) first."""
    prefix = path.name + "."
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    found = [n[len(prefix):] for n in names if n.startswith(prefix)]
    return sorted((int(s) for s in found if s.isdigit()), reverse=True)


def _chain(path: Path) -> list[Path]:
    """The files that exist now, oldest first."""
    names = [_rotated(path, index) for index in _rotation_indexes(path)]
    return [*names, path] if path.exists() else names


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


def _named(name: Path) -> tuple[int, int] | None:
    try:
        return _identity(os.stat(name))
    except FileNotFoundError:
        return None


def _held(handle: _File) -> tuple[int, int]:
    return _identity(os.fstat(handle.fileno()))


def open_chain(path: Path) -> list[_File]:
    """Every file of the log, oldest first, as one generation: the names are checked again
    after opening, and a rotation in between means opening them again."""
    for attempt in range(_ATTEMPTS):
        names = _chain(path)
        opened: list[_File] = []
        try:
            for name in names:
                opened.append(_File(name, "rb"))
        except FileNotFoundError:
            pass
        else:
            stable = _chain(path) == names and all(
                _named(name) == _held(handle) for name, handle in zip(names, opened, strict=True)
            )
            if stable or attempt == _ATTEMPTS - 1:
                return opened
        for handle in opened:
            handle.close()
    return []


def _successor(path: Path, held: tuple[int, int]) -> _File | None:
    """The file written after the one we hold, which the writer renamed to <log>.N: the one
    named <log>.N-1 (or <log>) — checked to be so while ours still has its name (names only
    move to higher indexes, so then no rotation moved either). None: try again later."""
    for index in reversed(_rotation_indexes(path)):  # newest first: a follower is near
        if _named(_rotated(path, index)) != held:
            continue
        newer = path if index == 1 else _rotated(path, index - 1)
        try:
            handle = _File(newer, "rb")
        except FileNotFoundError:  # the writer is between renaming and creating
            return None
        if _named(_rotated(path, index)) == held:
            return handle
        handle.close()
        return None
    return None


class LogFiles:
    """Yields the log's complete records in order, each once, across calls: a follower calls
    `records()` again whenever it wants what was written since."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._files: deque[_File] = deque(open_chain(path))
        self._partial = b""

    def close(self) -> None:
        while self._files:
            self._files.popleft().close()

    def records(self) -> Iterator[bytes]:
        while True:
            if not self._files:
                self._files.extend(open_chain(self._path))  # the log did not exist yet
                if not self._files:
                    return
            current = self._files[0]
            yield from self._drain(current)
            if len(self._files) > 1:  # complete before the newer one was queued: all read
                self._files.popleft().close()
                self._partial = b""
            elif not self._moved_on(current):
                return

    def _drain(self, handle: _File) -> Iterator[bytes]:
        while chunk := handle.read(_READ_SIZE):
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            yield from complete

    def _moved_on(self, current: _File) -> bool:
        """Whether a newer file was queued after `current` (which is complete once renamed:
        the caller reads it to its end again first), or `current` was truncated in place
        and is to be read again."""
        held = _held(current)
        named = _named(self._path)
        if named == held:
            if os.fstat(current.fileno()).st_size < current.tell():  # max-file 1
                current.seek(0)
                self._partial = b""
                return True
            return False
        newer = _successor(self._path, held)
        if newer is not None:
            self._files.append(newer)
            return True
        if os.fstat(current.fileno()).st_nlink == 0:  # deleted before we got to its end
            self._files.extend(open_chain(self._path))
            return len(self._files) > 1
        return False
