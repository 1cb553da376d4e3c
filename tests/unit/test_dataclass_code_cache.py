"""The on-disk cache of compiled dataclass methods (engine.dataclass_code_cache): a class made
through it behaves exactly as one `dataclasses` makes alone, a second process takes the code
from the file instead of compiling, and a damaged or missing file only costs the compile."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import dataclass_code_cache as cache

REPO = Path(__file__).resolve().parents[2]

# Every generated method kind: __init__ with defaults and a factory, __post_init__ with an
# InitVar, frozen __setattr__/__delattr__, __eq__, __hash__, order, __repr__, kw_only, slots.
SHAPES = textwrap.dedent("""
    import dataclasses, pickle
    from dataclasses import InitVar, dataclass, field

    @dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()

    @dataclass(order=True)
    class Version:
        major: int
        minor: int = 0
        notes: list[str] = field(default_factory=list, compare=False)

    @dataclass(frozen=True, kw_only=True, slots=True)
    class Options:
        name: str
        scale: int = 1

    @dataclass
    class Derived:
        base: int
        factor: InitVar[int] = 2
        total: int = field(init=False, default=0)

        def __post_init__(self, factor: int) -> None:
            self.total = self.base * factor

    p = Point(1, tags=("a",))
    try:
        p.x = 3
        frozen = "no"
    except dataclasses.FrozenInstanceError:
        frozen = "yes"
    print(repr(p), p == Point(1, 0, ("a",)), hash(p) == hash(Point(1, 0, ("a",))), frozen)
    print(Version(1, 2) < Version(1, 3), Version(2) > Version(1, 9), Version(1).notes)
    print(Options(name="n"), Options(name="n") == Options(name="n", scale=1))
    print(Derived(3).total, Derived(3, 5).total, pickle.loads(pickle.dumps(p)) == p)
    print([f.name for f in dataclasses.fields(Version)], dataclasses.replace(p, y=7))
""")


def _run(code: str, env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def _with_cache(path: Path, body: str) -> str:
    return textwrap.dedent(f"""
        from engine import dataclass_code_cache as c
        c._CACHE = c._Cache({str(path)!r})
        c.install()
        compiled = []
        real_compile = compile
        import builtins
        def counting(*args, **kwargs):
            compiled.append(1)
            return real_compile(*args, **kwargs)
        c.compile = counting
    """) + body + "\nprint('compiled', len(compiled))\n"


def test_classes_behave_as_without_the_cache(tmp_path: Path) -> None:
    plain = _run(SHAPES, {})
    first = _run(_with_cache(tmp_path / "m.marshal", SHAPES), {})
    second = _run(_with_cache(tmp_path / "m.marshal", SHAPES), {})
    assert first.rsplit("compiled", 1)[0] == plain == second.rsplit("compiled", 1)[0]
    assert int(first.rsplit("compiled", 1)[1]) > 10  # every method compiled, then saved
    assert int(second.rsplit("compiled", 1)[1]) == 0  # all taken from the file


def test_nothing_written_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    _run(_with_cache(tmp_path / "m.marshal", SHAPES), {"PYTHONDONTWRITEBYTECODE": "1"})
    assert not (tmp_path / "m.marshal").exists()


@pytest.mark.parametrize("content", [b"", b"\x00garbage", b"N"])  # b"N" is marshal's None
def test_a_damaged_file_only_costs_the_compile(tmp_path: Path, content: bytes) -> None:
    damaged = tmp_path / "m.marshal"
    damaged.write_bytes(content)
    out = _run(_with_cache(damaged, SHAPES), {})
    assert int(out.rsplit("compiled", 1)[1]) > 10
    assert cache._read(str(damaged)) != {}  # rewritten whole


def test_forked_children_leave_the_file_to_their_parent(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "m.marshal"
    store = cache._Cache(str(path))
    store.code_for("def __create_fn__():\n def f():\n  return 1\n return f")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only tries to save and exits
        store.save()
        os._exit(0)
    os.waitpid(pid, 0)
    assert not path.exists()
    store.save()
    assert len(cache._read(str(path))) == 1


def test_past_the_limit_only_what_this_process_used_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "m.marshal"
    old = cache._Cache(str(path))
    for i in range(5):
        old.code_for(f"def __create_fn__():\n def f():\n  return {i}\n return f")
    old.save()
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    new = cache._Cache(str(path))
    new.code_for("def __create_fn__():\n def f():\n  return 'new'\n return f")
    new.save()
    assert list(cache._read(str(path))) == [
        "def __create_fn__():\n def f():\n  return 'new'\n return f"]


def test_prime_writes_every_package_class_even_with_bytecode_writing_off(tmp_path: Path) -> None:
    """The set-up scripts' step: a fresh install's first commands find the methods compiled."""
    path = tmp_path / "m.marshal"
    out = _run(textwrap.dedent(f"""
        from engine import dataclass_code_cache as c
        c._CACHE = c._Cache({str(path)!r})
        print(c.prime(("netdriver",)))
    """), {"PYTHONDONTWRITEBYTECODE": "1"})
    from dataclasses import fields

    from netdriver import model

    assert int(out) > 10
    sources = cache._read(str(path))
    assert len(sources) == int(out)
    names = [f.name for f in fields(model.Endpoint)]  # its __init__ is in the file
    assert any(s.startswith("def __create_fn__") and " def __init__(self," in s
               and all(name in s for name in names) for s in sources)
