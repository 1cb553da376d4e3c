"""Atomic state writes and inter-process locks: any CLI call, or a crashed one re-run, sees
either the old file or the new one, never half of it."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import json
import os
from _thread import get_ident
from collections.abc import Iterator
from pathlib import Path

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


def write_atomic(
    path: Path, data: bytes, mode: int = 0o644, *, durable: bool = True, make_parent: bool = True
) -> None:
    """Temp file + rename: readers see the old or the new file, never half of one.

    ``durable`` fsyncs the data before the rename, so that after a power cut the file is the
    old or the new version; without it a power cut may leave an empty or torn file (only a
    power cut: a crashed process never does), which suits state its readers re-derive from
    liveness and the fsync's cost on every change. ``make_parent=False`` writes only into an
    existing directory (FileNotFoundError otherwise): a record removed meanwhile stays removed.
    """
    name = os.fspath(path)
    directory, _, base = name.rpartition("/")
    # The thread's ident too: threads of one process writing one file (concurrent starts of
    # a container in one caller) took each other's temp file away before its rename. The pid
    # stays last: sweeps read the writer from there (engine.containers `_tmp_writer`).
    unique = f".{base}.{get_ident()}.{os.getpid()}.tmp"
    tmp = f"{directory}/{unique}" if directory else unique
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(tmp, flags, mode)
    except FileNotFoundError:  # the parent is made only when missing (no mkdir per write)
        if not (make_parent and directory):
            raise
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, flags, mode)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def json_default(value: Any) -> Any:
    """``default`` for records made of dataclasses and enums: a dataclass becomes the dict of
    its fields (nested ones converted in turn by the encoder), an enum its value. The same
    document as ``asdict`` gives, without its deep copy and recursion in Python."""
    if isinstance(value, enum.Enum):
        return value.value
    names = _FIELD_NAMES.get(type(value))
    if names is None:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    return {name: getattr(value, name) for name in names}


def encode_json(value: Any, default: Any = None) -> bytes:
    """Compact and key-sorted, through the C encoder (``indent`` would force the pure-Python
    one: several times the CPU per record). ``default`` converts what json does not know."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=default).encode()


def write_json(
    path: Path, value: Any, *, durable: bool = True, make_parent: bool = True, default: Any = None
) -> None:
    write_atomic(path, encode_json(value, default), durable=durable, make_parent=make_parent)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@contextlib.contextmanager
def locked(lock_path: Path, *, make_parent: bool = True) -> Iterator[None]:
    """Exclusive fcntl lock; released when the block ends or the process dies.

    ``make_parent=False``: FileNotFoundError when the directory is gone (never recreated)."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:
        if not make_parent:
            raise
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
