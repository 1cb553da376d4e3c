"""Compiled dataclass methods, kept on disk between runs.

Every pycompose command is a fresh Python process, and about half of its import time went to
`dataclasses` compiling the same generated `__init__`/`__repr__`/`__eq__`/... source again:
~0.25 ms per method, six methods per frozen dataclass, ~100 dataclasses (measured with
cProfile: 150 of 311 ms importing the `run` path). `install` swaps `dataclasses._create_fn`
for the same function with one change: the generated source is compiled once and the code
object is taken from a marshal file on later runs. The source text is the key, so a changed
class compiles afresh and the result is the one `dataclasses` itself would build.

Only CPython 3.11 and 3.12 generate methods through `_create_fn(name, args, body, *, globals,
locals, return_type)`; elsewhere `install` leaves `dataclasses` alone (3.13 batches the
methods into one compile itself). Nothing is written when bytecode writing is off
(`PYTHONDONTWRITEBYTECODE`, `-B`), and a cache file that cannot be read is ignored.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import marshal
import os
import sys
from types import CodeType

TYPE_CHECKING = False  # `typing` costs ~7 ms of every command's start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CACHE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__",
                          f"dataclass-methods-2.{sys.implementation.cache_tag}.marshal")
MAX_ENTRIES = 4000  # past this the file keeps only what the writing process used


class _Cache:
    """Source text -> marshalled code object, loaded lazily, written back once at exit when it
    grew. Each code object is unmarshalled only when its class is made: the file holds every
    module's methods (`prime`), a command makes about half of them, and decoding them all
    cost ~5 ms where the strings alone take ~1 ms."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._owner = os.getpid()  # forked children (supervisors) leave the file to their parent
        self._codes: dict[str, bytes] | None = None
        self._used: set[str] = set()
        self._grew = False

    def code_for(self, source: str) -> CodeType:
        codes = self._load()
        self._used.add(source)
        stored = codes.get(source)
        if isinstance(stored, bytes):
            with contextlib.suppress(EOFError, ValueError, TypeError):
                code = marshal.loads(stored)
                if isinstance(code, CodeType):
                    return code
        code = compile(source, "<string>", "exec")
        codes[source] = marshal.dumps(code)
        self._grew = True
        return code

    def _load(self) -> dict[str, bytes]:
        if self._codes is None:
            self._codes = _read(self._path)
        return self._codes

    def save(self, force: bool = False) -> None:
        """Write the file when this process compiled something new (``force``: even under
        PYTHONDONTWRITEBYTECODE, as `compileall` writes .pyc files: for `prime`)."""
        if not self._grew or self._codes is None or os.getpid() != self._owner:
            return
        if sys.dont_write_bytecode and not force:
            return
        codes = self._codes
        if len(codes) > MAX_ENTRIES:
            codes = {source: codes[source] for source in self._used if source in codes}
        temporary = f"{self._path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self._path), exist_ok=True)
            with open(temporary, "wb") as out:
                marshal.dump(codes, out)
            os.replace(temporary, self._path)
            self._grew = False
        except OSError:  # a read-only install: every run compiles, as without the cache
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _read(path: str) -> dict[str, bytes]:
    collecting = gc.isenabled()
    gc.disable()  # ~1,500 new objects would set off collections of everything imported so far
    try:
        with open(path, "rb") as cached:
            loaded = marshal.loads(cached.read())  # load(file) reads item by item: 8x slower
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    finally:
        if collecting:
            gc.enable()
    return loaded if isinstance(loaded, dict) else {}  # a bad value fails in `code_for`


_CACHE = _Cache(CACHE_FILE)


def _create_fn_through_cache(missing: Any) -> Callable[..., Any]:
    """`dataclasses._create_fn` of CPython 3.11/3.12, compiling through the cache (`missing`:
    dataclasses.MISSING, which this module must not import before `inspect` is deferred)."""

    def _create_fn(name: str, args: list[str], body: list[str], *,
                   globals: dict[str, Any] | None = None, locals: dict[str, Any] | None = None,
                   return_type: Any = missing) -> Any:
        if locals is None:
            locals = {}
        return_annotation = ""
        if return_type is not missing:
            locals["_return_type"] = return_type
            return_annotation = "->_return_type"
        indented = "\n".join(f"  {line}" for line in body)
        function = f" def {name}({','.join(args)}){return_annotation}:\n{indented}"
        source = f"def __create_fn__({', '.join(locals.keys())}):\n{function}\n return {name}"
        namespace: dict[str, Any] = {}
        exec(_CACHE.code_for(source), globals, namespace)  # the source dataclasses generated
        return namespace["__create_fn__"](**locals)

    _create_fn.installed_by = __name__  # type: ignore[attr-defined]
    return _create_fn


def install() -> None:
    """Call before the first dataclass of the process is made (each entry point does)."""
    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        return
    from engine import deferred_inspect

    deferred_inspect.defer()  # dataclasses imports it, and needs it only without docstrings
    import dataclasses

    current = getattr(dataclasses, "_create_fn", None)
    if current is None or getattr(current, "installed_by", None) == __name__:
        return
    dataclasses._create_fn = _create_fn_through_cache(dataclasses.MISSING)  # type: ignore[attr-defined]
    atexit.register(_CACHE.save)  # also run by `exit_now`; forked children os._exit


def prime(packages: tuple[str, ...] = ("netdriver", "engine", "compose")) -> int:
    """Import every module of `packages` through the cache and write it, whatever
    PYTHONDONTWRITEBYTECODE says: the set-up scripts run it after `compileall`, so the first
    commands of a fresh install (and every command where bytecode writing is off) find both.
    Returns how many methods the file holds. Modules that cannot be imported here (an optional
    dependency missing, e.g. pytest for the plugin) are skipped."""
    import importlib
    import pkgutil

    install()
    for package_name in packages:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            with contextlib.suppress(Exception):
                importlib.import_module(module.name)
    _CACHE.save(force=True)
    return len(_CACHE._load())


if __name__ == "__main__":  # `python -m engine.dataclass_code_cache`: the set-up scripts
    # through the package's module, not this __main__ copy: `install` must patch dataclasses
    # once, with the one cache every later import goes through
    from engine import dataclass_code_cache as _module

    print(f"dataclass method cache: {_module.prime()} methods in {_module.CACHE_FILE}")
