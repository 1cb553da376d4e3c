"""`inspect`, loaded when one of its names is first used instead of when it is imported.

`dataclasses` imports `inspect` at its top, and on CPython 3.11 uses it only to make a
docstring for a class without one (every one of ours has a docstring:
tests/unit/test_dataclass_docstrings.py). Importing it (with ast, dis, tokenize, linecache)
cost the fork server and every CLI fast path ~10 ms of start-up for nothing. `defer` puts a
stand-in module under the name; the first attribute anyone reads from it imports the real
module, copies its namespace into the stand-in (so modules already holding the stand-in see
real functions from then on) and puts the real module in `sys.modules`.
"""

from __future__ import annotations

import sys
from types import ModuleType

TYPE_CHECKING = False  # `typing` costs ~7 ms of start-up
if TYPE_CHECKING:
    from typing import Any


class _Deferred(ModuleType):
    """Stands in for `inspect` until a name of it is read."""

    def __getattr__(self, name: str) -> Any:  # only called for names not set on the module
        if name.startswith("__"):  # import machinery probing (__path__, __file__, ...)
            raise AttributeError(name)
        return getattr(_load(self), name)


def _load(stand_in: ModuleType) -> ModuleType:
    if sys.modules.get("inspect") is stand_in:
        del sys.modules["inspect"]
    import inspect  # the real module now

    stand_in.__dict__.update(inspect.__dict__)
    return inspect


def defer() -> None:
    """Put the stand-in in place, unless `inspect` is loaded already (then nothing to save)."""
    if "inspect" not in sys.modules:
        sys.modules["inspect"] = _Deferred("inspect")
