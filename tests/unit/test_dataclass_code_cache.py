"""The on-disk cache of dataclasses (engine.dataclass_code_cache, engine.dataclass_replay): a
class replayed from it is the class `dataclasses` makes alone (same fields, same generated
code, closures over the same objects), a second process makes known shapes without compiling,
a changed class is made afresh, and a damaged or missing file only costs the ordinary making."""

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
# InitVar, frozen __setattr__/__delattr__, __eq__, __hash__, order, __repr__, kw_only, a
# dataclass base; and two made the ordinary way every time (slots; no docstring), as is any
# class whose annotations are not strings.
SHAPES = textwrap.dedent("""
    from __future__ import annotations  # as every module of ours: annotations are strings
    import dataclasses, pickle
    from dataclasses import InitVar, KW_ONLY, dataclass, field

    @dataclass(frozen=True)
    class Point:
        "A point."
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()

    @dataclass(frozen=True)
    class Point3(Point):
        "A point with depth."
        z: int = 0
        _: KW_ONLY
        label: str = "p"

    @dataclass(order=True)
    class Version:
        "A version."
        major: int
        minor: int = 0
        notes: list[str] = field(default_factory=list, compare=False)

    @dataclass(frozen=True, kw_only=True, slots=True)
    class Options:
        "Options."
        name: str
        scale: int = 1

    @dataclass
    class Derived:
        "Derived."
        base: int
        factor: InitVar[int] = 2
        total: int = field(init=False, default=0)

        def __post_init__(self, factor: int) -> None:
            self.total = self.base * factor

    @dataclass(eq=False)
    class Own:
        "Defines its own repr."
        value: int = field(default=5, repr=False)

        def __repr__(self) -> str:
            return f"Own<{self.value}>"

    @dataclass
    class NoDoc:
        a: int = 1

    p = Point(1, tags=("a",))
    try:
        p.x = 3
        frozen = "no"
    except dataclasses.FrozenInstanceError:
        frozen = "yes"
    print(repr(p), p == Point(1, 0, ("a",)), hash(p) == hash(Point(1, 0, ("a",))), frozen)
    print(Point3(1, 2, (), 3, label="q"), Point3(1) == Point3(1, 0, (), 0, label="p"))
    print(Version(1, 2) < Version(1, 3), Version(2) > Version(1, 9), Version(1).notes)
    print(Options(name="n"), Options(name="n") == Options(name="n", scale=1))
    print(Derived(3).total, Derived(3, 5).total, pickle.loads(pickle.dumps(p)) == p)
    print([f.name for f in dataclasses.fields(Version)], dataclasses.replace(p, y=7))
    print(Own(), Own() == Own(), Own.__init__.__annotations__, NoDoc(), NoDoc.__doc__)
    print(Point.__match_args__, Point3.__match_args__, Version.__eq__.__qualname__)
""")

# Every dataclass of the packages, described down to its generated code and closures.
DESCRIBE_PACKAGES = textwrap.dedent("""
    import dataclasses, importlib, pkgutil, re, types

    def norm(c):
        if isinstance(c, frozenset):  # marshal may rebuild a constant set in another order
            return ("frozenset", sorted(map(repr, c)))
        if isinstance(c, tuple):
            return tuple(norm(x) for x in c)
        if isinstance(c, types.CodeType):
            return (c.co_name, c.co_code.hex(), norm(c.co_consts))
        return repr(c)

    def function(fn):
        code = fn.__code__
        cells = tuple(c.cell_contents if isinstance(c.cell_contents, str)
                      else repr(c.cell_contents) for c in fn.__closure__ or ())
        inner = getattr(fn, "__wrapped__", None)
        return (fn.__qualname__, code.co_code.hex(), norm(code.co_consts), code.co_names,
                code.co_varnames, code.co_freevars, cells, repr(fn.__defaults__),
                repr(fn.__kwdefaults__), repr(fn.__annotations__),
                function(inner) if inner else None)

    out = []
    for package in ("netdriver", "engine", "compose"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            try:
                module = importlib.import_module(info.name)
            except Exception:
                continue
            for cls in vars(module).values():
                if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)
                        and cls.__module__ == module.__name__):
                    continue
                lines = [cls.__qualname__, repr(cls.__dataclass_params__),
                         [repr(f) for f in cls.__dataclass_fields__.values()]]
                for name, value in sorted(cls.__dict__.items()):
                    if name in ("__dataclass_fields__", "__dataclass_params__"):
                        continue
                    lines.append((name, function(value) if isinstance(value, types.FunctionType)
                                  else type(value).__name__))
                out.append(repr(lines))
    print(re.sub(r"0x[0-9a-f]+", "0x", "\\n".join(sorted(out))))
""")


def _run(code: str, env_extra: dict[str, str] | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(env_extra or {}, PYTHONPATH=str(REPO), PYTHONHASHSEED="0")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def _with_cache(directory: Path, body: str) -> str:
    """`body` with the cache in `directory`, then how many methods were compiled and how many
    classes were replayed."""
    future = "from __future__ import annotations"
    body = body.replace(future, "")  # back to the top, where it must be
    return future + textwrap.dedent(f"""
        from engine import dataclass_code_cache as c, dataclass_replay as r
        c._STORE = c._Store({str(directory)!r})
        compiled, replayed = [], []
        real_compile, real_replay = c._compile, r.replay
        def counting(source):
            compiled.append(1)
            return real_compile(source)
        def replaying(*args):
            made = real_replay(*args)
            replayed.append(made is not None)
            return made
        c._compile, r.replay = counting, replaying
        c.install()
    """) + body + "\nprint('compiled', len(compiled), 'replayed', sum(replayed))\n"


def _counts(out: str) -> tuple[str, int, int]:
    text, counts = out.rsplit("compiled", 1)
    compiled, _, replayed = counts.split()
    return text, int(compiled), int(replayed)


def test_classes_behave_as_without_the_cache(tmp_path: Path) -> None:
    plain = _run(SHAPES)
    first, compiled_first, replayed_first = _counts(_run(_with_cache(tmp_path, SHAPES)))
    second, compiled_second, replayed_second = _counts(_run(_with_cache(tmp_path, SHAPES)))
    assert first == plain == second
    assert replayed_first == 0 and compiled_first > 15  # every method compiled, then noted
    assert replayed_second == 5  # all but the slotted class and the one without a docstring
    assert 0 < compiled_second < compiled_first / 2  # those two are compiled every time


def test_every_package_dataclass_replays_as_dataclasses_makes_it(tmp_path: Path) -> None:
    plain = _run(DESCRIBE_PACKAGES)
    noted, compiled_before, replayed_before = _counts(
        _run(_with_cache(tmp_path, DESCRIBE_PACKAGES)))
    replayed, compiled, replayed_after = _counts(_run(_with_cache(tmp_path, DESCRIBE_PACKAGES)))
    assert plain.count("\n") > 150  # the packages' classes were all found
    assert plain == noted == replayed
    assert replayed_before == 0 and replayed_after > 150
    assert compiled < compiled_before / 10  # only libraries' classes (annotations not strings)


def test_a_changed_class_is_made_afresh(tmp_path: Path) -> None:
    before = ("from __future__ import annotations\nfrom dataclasses import dataclass\n"
              "@dataclass(frozen=True)\nclass A:\n    'A.'\n")
    first = before + "    x: int = 1\nprint(A())\n"
    changed = before + "    x: int = 1\n    y: str = 'b'\nprint(A(), A(2, 'c'))\n"
    assert _counts(_run(_with_cache(tmp_path, first)))[0] == "A(x=1)\n"
    text, compiled, replayed = _counts(_run(_with_cache(tmp_path, changed)))
    assert text == "A(x=1, y='b') A(x=2, y='c')\n" and compiled > 0 and replayed == 0
    assert _counts(_run(_with_cache(tmp_path, changed)))[1:] == (0, 1)


def test_an_unhashable_default_is_still_refused(tmp_path: Path) -> None:
    ok = ("from __future__ import annotations\nfrom dataclasses import dataclass\n"
          "@dataclass\nclass A:\n    'A.'\n    x: object = ()\n")
    _run(_with_cache(tmp_path, ok))
    bad = ok.replace("= ()", "= []")
    with pytest.raises(subprocess.CalledProcessError) as refused:
        _run(_with_cache(tmp_path, bad))
    assert "mutable default" in refused.value.stderr


def test_nothing_written_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    _run(_with_cache(tmp_path / "c", SHAPES), {"PYTHONDONTWRITEBYTECODE": "1"})
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("content", [b"", b"\x00garbage", b"N", b"{\x00\x00\x00\x000"])
def test_a_damaged_file_only_costs_the_ordinary_making(tmp_path: Path, content: bytes) -> None:
    _run(_with_cache(tmp_path, SHAPES))
    for path in tmp_path.iterdir():
        path.write_bytes(content)
    text, compiled, replayed = _counts(_run(_with_cache(tmp_path, SHAPES)))
    assert text == _run(SHAPES) and compiled > 15 and replayed == 0
    assert all(cache._read(str(path)) != {} for path in tmp_path.iterdir())  # rewritten


def test_an_entry_that_does_not_fit_is_made_the_ordinary_way(tmp_path: Path) -> None:
    _run(_with_cache(tmp_path, SHAPES))
    path = next(tmp_path.iterdir())
    entries = cache._read(str(path))
    cache._write(str(path), {key: ((("ghost", "_FIELD", None),), (), ()) for key in entries})
    text, _, replayed = _counts(_run(_with_cache(tmp_path, SHAPES)))
    assert text == _run(SHAPES) and replayed == 0


def test_forked_children_leave_the_file_to_their_parent(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    store = cache._Store(str(tmp_path))
    store.put("m", ("key",), ((), (), ()))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only tries to save and exits
        store.save()
        os._exit(0)
    os.waitpid(pid, 0)
    assert not (tmp_path / "m.marshal").exists()
    store.save()
    assert cache._read(str(tmp_path / "m.marshal")) == {("key",): ((), (), ())}


def test_shapes_no_longer_made_are_dropped(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    old = cache._Store(str(tmp_path))
    for i in range(5):
        old.put("m", (f"old{i}",), ((), (), ()))
    old.save()
    new = cache._Store(str(tmp_path))
    new.put("m", ("new",), ((), (), ()))
    new.save()
    assert list(cache._read(str(tmp_path / "m.marshal"))) == [("new",)]


def test_prime_writes_every_package_class_even_with_bytecode_writing_off(tmp_path: Path) -> None:
    """The set-up scripts' step: a fresh install's first commands find the classes noted."""
    out = _run(textwrap.dedent(f"""
        from engine import dataclass_code_cache as c
        c._STORE = c._Store({str(tmp_path)!r})
        print(c.prime(("netdriver",)))
    """), {"PYTHONDONTWRITEBYTECODE": "1"})
    entries = cache._read(str(tmp_path / "netdriver.model.marshal"))
    assert int(out) > 10
    assert any(key[0] == "Endpoint" for key in entries)
