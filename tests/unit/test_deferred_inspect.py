"""engine.deferred_inspect: `dataclasses` imports without loading `inspect`, and anything that
does use `inspect` afterwards gets the real module, whichever way it reaches it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-S", "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_documented_dataclasses_never_load_inspect() -> None:
    out = _run("""
        import sys
        from engine import deferred_inspect
        deferred_inspect.defer()
        import dataclasses

        @dataclasses.dataclass(frozen=True)
        class Point:
            '''documented: dataclasses needs no signature'''
            x: int

        print(Point(1) == Point(1), "ast" in sys.modules, "dis" in sys.modules)
    """)
    assert out == ["True", "False", "False"]


def test_the_first_use_loads_the_real_module_for_every_holder() -> None:
    out = _run("""
        import sys
        from engine import deferred_inspect
        deferred_inspect.defer()
        import dataclasses
        import inspect as early  # the stand-in

        @dataclasses.dataclass
        class Bare:
            x: int
            y: str = "a"

        from inspect import signature  # by name, after the load
        import inspect as late
        print(Bare.__doc__.replace(" ", ""), str(signature(Bare)).replace(" ", ""))
        print(late is sys.modules["inspect"], early.isclass(Bare), late.isclass(Bare))
        print(early.Parameter is late.Parameter, "ast" in sys.modules)
    """)
    assert out[:2] == ["Bare(x:int,y:str='a')", "(x:int,y:str='a')->None"]
    assert out[2:] == ["True", "True", "True", "True", "True"]


def test_nothing_is_deferred_once_inspect_is_loaded() -> None:
    out = _run("""
        import inspect, sys
        from engine import deferred_inspect
        deferred_inspect.defer()
        print(sys.modules["inspect"] is inspect)
    """)
    assert out == ["True"]
