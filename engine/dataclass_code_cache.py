"""Dataclasses as the decorator made them, kept on disk between runs.

Every pycompose command is a fresh Python process, and `dataclasses` spent a third of the
CLI's and of the fork server's import time making the same classes again: compiling each
generated `__init__`/`__repr__`/`__eq__`/... (~0.25 ms per method, six per frozen dataclass),
then, once the code came from a cache of methods, still ~20 ms a process on reading fields and
building source text. `install` makes a class of a shape seen before by replaying what the
decorator did to it (engine.dataclass_replay), from one file per module, read when the module's
first dataclass is made; a class the file does not know is made by `dataclasses` itself, noted,
and written back at exit. The result is the class `dataclasses` would build: the same code,
closures over the same objects.

Only CPython 3.11 and 3.12 (their `_process_class` and `_create_fn`); elsewhere `install`
leaves `dataclasses` alone (3.13 batches a class's methods into one compile itself). Nothing is
written when bytecode writing is off (`PYTHONDONTWRITEBYTECODE`, `-B`), and a file that cannot
be read is ignored.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import marshal
import os
import sys

from engine import dataclass_replay

TYPE_CHECKING = False  # `typing` costs ~7 ms of every command's start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CACHE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__",
                         f"dataclasses-3.{sys.implementation.cache_tag}")
STALE_FACTOR = 2  # a module's file holding this many times what its import used is trimmed


class _Store:
    """Module name -> {class shape: what the decorator did}, each module's file read when its
    first class is made and rewritten at exit when this process noted a new shape in it."""

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._owner = os.getpid()  # forked children (supervisors) leave the files to their parent
        self._modules: dict[str, dict[Any, Any]] = {}
        self._used: dict[str, set[Any]] = {}
        self._grew: set[str] = set()

    def get(self, module: str, key: Any) -> Any:
        self._used.setdefault(module, set()).add(key)
        return self._entries(module).get(key)

    def put(self, module: str, key: Any, entry: Any) -> None:
        self._entries(module)[key] = entry
        self._used.setdefault(module, set()).add(key)
        self._grew.add(module)

    def _entries(self, module: str) -> dict[Any, Any]:
        entries = self._modules.get(module)
        if entries is None:
            entries = self._modules[module] = _read(self._path(module))
        return entries

    def _path(self, module: str) -> str:
        return os.path.join(self._directory, f"{module}.marshal")

    def save(self, force: bool = False) -> None:
        """Write the modules this process noted new shapes in (``force``: even under
        PYTHONDONTWRITEBYTECODE, as `compileall` writes .pyc files: for `prime`)."""
        if not self._grew or os.getpid() != self._owner:
            return
        if sys.dont_write_bytecode and not force:
            return
        for module in sorted(self._grew):
            entries = self._modules[module]
            used = self._used.get(module, set())
            if len(entries) > STALE_FACTOR * len(used):  # shapes of classes edited since
                entries = {key: entries[key] for key in used if key in entries}
            _write(self._path(module), entries)
        self._grew.clear()

    def known(self) -> int:
        return sum(len(entries) for entries in self._modules.values())


def _read(path: str) -> dict[Any, Any]:
    collecting = gc.isenabled()
    gc.disable()  # the new objects would set off collections of everything imported so far
    try:
        with open(path, "rb") as cached:
            loaded = marshal.loads(cached.read())  # load(file) reads item by item: 8x slower
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    finally:
        if collecting:
            gc.enable()
    return loaded if isinstance(loaded, dict) else {}  # a bad entry fails in `replay`


def _write(path: str, entries: dict[Any, Any]) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as out:
            marshal.dump(entries, out)
        os.replace(temporary, path)
    except (OSError, ValueError):  # a read-only install: every run makes its classes afresh
        with contextlib.suppress(OSError):
            os.unlink(temporary)


_STORE = _Store(CACHE_DIR)


def _compile(source: str) -> Any:
    return compile(source, "<string>", "exec", dont_inherit=True)  # not our __future__ flags


def _process_class_through_store(original: Callable[..., Any]) -> Callable[..., Any]:
    """`dataclasses._process_class`, replaying a known shape, noting a new one."""

    def _process_class(cls: type, *params: Any) -> Any:
        key = dataclass_replay.fingerprint(cls, params)
        if key is None:
            return original(cls, *params)
        entry = _STORE.get(cls.__module__, key)
        if entry is not None:
            made = dataclass_replay.replay(cls, entry, params)
            if made is not None:
                return made
        before = dict(cls.__dict__)
        with dataclass_replay.recording() as created:
            result = original(cls, *params)
        if result is cls:
            described = dataclass_replay.describe(cls, before, created)
            if described is not None:
                _STORE.put(cls.__module__, key, described)
        return result

    _process_class.installed_by = __name__  # type: ignore[attr-defined]
    return _process_class


def install() -> None:
    """Call before the first dataclass of the process is made (each entry point does)."""
    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        return
    from engine import deferred_inspect

    deferred_inspect.defer()  # dataclasses imports it, and needs it only without docstrings
    import dataclasses

    current = getattr(dataclasses, "_process_class", None)
    if current is None or getattr(current, "installed_by", None) == __name__:
        return
    dataclasses._create_fn = dataclass_replay.create_fn_recording(  # type: ignore[attr-defined]
        dataclasses.MISSING, _compile)
    dataclasses._process_class = _process_class_through_store(current)  # type: ignore[attr-defined]
    atexit.register(_STORE.save)  # also run by `exit_now`; forked children os._exit


def prime(packages: tuple[str, ...] = ("netdriver", "engine", "compose")) -> int:
    """Import every module of `packages` through the cache and write it, whatever
    PYTHONDONTWRITEBYTECODE says: the set-up scripts run it after `compileall`, so the first
    commands of a fresh install (and every command where bytecode writing is off) find both.
    Returns how many class shapes the files hold. Modules that cannot be imported here (an optional
    dependency missing, e.g. pytest for the plugin) are skipped."""
    import importlib
    import pkgutil

    install()
    for package_name in packages:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            with contextlib.suppress(Exception):
                importlib.import_module(module.name)
    _STORE.save(force=True)
    return _STORE.known()


if __name__ == "__main__":  # `python -m engine.dataclass_code_cache`: the set-up scripts
    # through the package's module, not this __main__ copy: `install` must patch dataclasses
    # once, with the one cache every later import goes through
    from engine import dataclass_code_cache as _module

    print(f"dataclass cache: {_module.prime()} classes in {_module.CACHE_DIR}")
