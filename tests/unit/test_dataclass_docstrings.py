"""Every dataclass in compose/, engine/ and netdriver/ has a docstring.

On CPython 3.11, `@dataclass` on a class without one computes a docstring from
`inspect.signature(cls)`: 0.3-0.7 ms per class at import time, paid by every pycompose command
(each is a fresh process, and start-up time is a product goal). Checked on the source with
`ast`, so a class is caught whichever import path would load it.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compose", "engine", "netdriver")
WHY = (
    "dataclasses on Python 3.11 compute a missing docstring with inspect.signature at "
    "import time (~0.5 ms per class, on every command's start-up): give it a docstring "
    "saying why the value exists"
)


def _is_dataclass_decorator(node: ast.expr) -> bool:
    """`dataclass` or `dataclasses.dataclass`, called with options or not."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id == "dataclass"
    return isinstance(target, ast.Attribute) and target.attr == "dataclass"


def undocumented_dataclasses(source: str, filename: str) -> list[tuple[int, str]]:
    """(line, class name) of every dataclass without a docstring, nested ones included."""
    return [
        (node.lineno, node.name)
        for node in ast.walk(ast.parse(source, filename=filename))
        if isinstance(node, ast.ClassDef)
        and any(_is_dataclass_decorator(d) for d in node.decorator_list)
        and ast.get_docstring(node) is None
    ]


def problem(filename: str, line: int, name: str) -> str:
    return f"{filename}:{line}:{name}: dataclass without a docstring: {WHY}"


def test_checker_finds_every_spelling_and_accepts_documented_classes() -> None:
    source = textwrap.dedent('''
        import dataclasses
        from dataclasses import dataclass

        @dataclass
        class Bare:
            x: int

        @dataclass(frozen=True)
        class Called:
            x: int

        @dataclasses.dataclass(slots=True)
        class Qualified:
            x: int

        @dataclasses.dataclass
        class QualifiedBare:
            x: int

        @dataclass
        class Documented:
            """Why it exists."""

            x: int

        class Plain:
            x: int

        def outer() -> None:
            @dataclass
            class Nested:
                x: int
    ''')
    assert sorted(undocumented_dataclasses(source, "planted.py")) == [
        (6, "Bare"), (10, "Called"), (14, "Qualified"), (18, "QualifiedBare"), (32, "Nested"),
    ]


def test_problem_names_the_class_and_the_cost() -> None:
    message = problem("engine/x.py", 12, "Spec")
    assert message.startswith("engine/x.py:12:Spec: ")
    assert "inspect.signature" in message and "3.11" in message


def test_every_dataclass_has_a_docstring() -> None:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            source = path.read_text(encoding="utf-8")
            problems += [
                problem(relative, line, name)
                for line, name in undocumented_dataclasses(source, relative)
            ]
    assert not problems, "\n".join(problems)
