"""engine.seccomp_profile keeps compiled filters between processes: a second process gets the
very program libseccomp compiled for the first without importing pyseccomp (the fork server's
start-up), another capability set gets its own program, and a damaged file is compiled again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pyseccomp")

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import sys
    from engine import capabilities, seccomp_profile as s
    s.CACHE_DIR = sys.argv[1]
    caps = capabilities.DOCKER_DEFAULT if sys.argv[2] == "default" else frozenset({"SYS_ADMIN"})
    program = s.compiled_profile(caps)
    print(program.hex(), "pyseccomp" in sys.modules, "typing" in sys.modules)
""")


def _probe(directory: Path, caps: str = "default") -> tuple[str, str, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(directory), caps],
                          capture_output=True, text=True, check=True, cwd=REPO)
    program, binding, typing = done.stdout.split()
    return program, binding, typing


def test_a_second_process_reads_the_program_without_the_binding(tmp_path: Path) -> None:
    compiled, binding, _ = _probe(tmp_path)
    assert binding == "True" and len(list(tmp_path.iterdir())) == 1
    assert _probe(tmp_path) == (compiled, "False", "False")


def test_each_capability_set_has_its_own_program(tmp_path: Path) -> None:
    default, _, _ = _probe(tmp_path)
    admin, binding, _ = _probe(tmp_path, "admin")
    assert admin != default and binding == "True" and len(list(tmp_path.iterdir())) == 2


def test_a_damaged_program_is_compiled_again(tmp_path: Path) -> None:
    compiled, _, _ = _probe(tmp_path)
    (damaged,) = tmp_path.iterdir()
    damaged.write_bytes(b"\x00" * 7)  # not a whole struct sock_filter
    assert _probe(tmp_path) == (compiled, "True", "True")
    assert damaged.read_bytes().hex() == compiled
