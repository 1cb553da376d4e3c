"""engine.syscalls.sonames_without_ldconfig: a binding imported in it finds libc and libseccomp
by soname without `ldconfig` and without loading the real `ctypes.util` (its shutil,
subprocess and tempfile cost the fork server ~6 ms), and the real module is there for anyone
after it, or inside it for a library it does not know."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import sys
    from engine import syscalls
    with syscalls.sonames_without_ldconfig():
        import ctypes.util
        print(ctypes.util.find_library("c"), ctypes.util.find_library("seccomp"))
        print(sorted(m for m in ("shutil", "subprocess", "tempfile") if m in sys.modules))
        %s
    import ctypes.util
    print(hasattr(ctypes.util, "__file__"), ctypes.util is sys.modules["ctypes.util"])
""")


def _probe(inside: str = "") -> list[str]:
    done = subprocess.run([sys.executable, "-S", "-c", PROBE % inside], capture_output=True,
                          text=True, check=True, env={"PYTHONPATH": str(REPO)})
    return done.stdout.splitlines()


def test_known_libraries_by_soname_without_the_real_module() -> None:
    assert _probe() == ["libc.so.6 libseccomp.so.2", "[]", "True True"]


def test_an_unknown_library_loads_the_real_module() -> None:
    lines = _probe('print(ctypes.util.find_library("no-such-library-here"))')
    assert lines == ["libc.so.6 libseccomp.so.2", "[]", "None", "True True"]
