"""DESIGN.md, "Layers and dependency direction": compose/ -> engine/ (only through engine.api)
-> netdriver/. Checked on the source with `ast`, so imports inside functions and under
`if TYPE_CHECKING:` count too: a lazy import is still a dependency, only a deferred one."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compose", "engine", "netdriver")

# What compose may import from the engine: engine.api, and the package itself, whose
# __init__ is the light surface the CLI's fast paths call before paying for engine.api.
COMPOSE_ENGINE_ENTRIES = frozenset({"engine", "engine.api"})


def _is_submodule(package: str, name: str) -> bool:
    """Whether `from package import name` imports a module rather than a name from it."""
    path = ROOT.joinpath(*package.split("."), name)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import anywhere in the tree. `from p import m`
    also yields p.m when m is a submodule (`from engine import errors` imports engine.errors).
    Relative imports are resolved against `package`, the importing module's package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                if alias.name != "*" and _is_submodule(module, alias.name):
                    yield node.lineno, f"{module}.{alias.name}"


def forbidden(layer: str, module: str) -> bool:
    """Whether a module of `layer` (compose, engine or netdriver) may not import `module`."""
    top = module.split(".", 1)[0]
    if layer == "netdriver":
        return top in ("engine", "compose")
    if layer == "engine":
        return top == "compose"
    if layer == "compose":
        return top == "netdriver" or (top == "engine" and module not in COMPOSE_ENGINE_ENTRIES)
    return False


def violations(source: str, filename: str, module_path: str) -> list[str]:
    """One "file:line: ..." message per forbidden import in a module's source. `module_path`
    is the module's dotted name (compose.cli.errors); its first part is its layer."""
    layer = module_path.split(".", 1)[0]
    is_package = Path(filename).name == "__init__.py"
    package = module_path if is_package else module_path.rpartition(".")[0]
    found = []
    for line, module in imported_modules(ast.parse(source, filename=filename), package):
        if forbidden(layer, module):
            found.append(f"{filename}:{line}: {layer}/ must not import {module}")
    return found


def _modules() -> Iterator[tuple[Path, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield path, ".".join(parts)


def test_import_direction() -> None:
    found = []
    for path, module_path in _modules():
        source = path.read_text(encoding="utf-8")
        found.extend(violations(source, str(path.relative_to(ROOT)), module_path))
    assert not found, "imports against DESIGN.md's layering:\n" + "\n".join(found)


def test_every_package_is_walked() -> None:
    """A moved tree or a wrong ROOT would let the check above pass on nothing."""
    walked = [module for _, module in _modules()]
    assert {module.split(".", 1)[0] for module in walked} == set(PACKAGES)
    assert "compose.cli.errors" in walked and "engine" in walked


@pytest.mark.parametrize(
    ("module_path", "source", "offending"),
    [
        ("netdriver.x", "from engine.errors import EngineError\n", "engine.errors"),
        ("netdriver.x", "import compose\n", "compose"),
        ("engine.x", "def f():\n    from compose.model import Project\n", "compose.model"),
        ("engine.x", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
         "    import compose.errors\n", "compose.errors"),
        ("compose.x", "from engine.errors import EngineError\n", "engine.errors"),
        ("compose.x", "import engine.exec\n", "engine.exec"),
        ("compose.x", "from engine import errors\n", "engine.errors"),
        ("compose.x", "from engine.registry import client\n", "engine.registry"),
        ("compose.x", "def f():\n    from netdriver.errors import NetworkError\n",
         "netdriver.errors"),
        ("compose.x", "import netdriver\n", "netdriver"),
    ],
)
def test_checker_catches(module_path: str, source: str, offending: str) -> None:
    found = violations(source, "planted.py", module_path)
    assert any(v.endswith(f" import {offending}") for v in found), found
    assert all(v.startswith("planted.py:") for v in found)


def test_checker_names_the_line() -> None:
    source = "import os\n\n\ndef f():\n    import engine.archive\n"
    assert violations(source, "compose/x.py", "compose.x") == [
        "compose/x.py:5: compose/ must not import engine.archive"
    ]


@pytest.mark.parametrize(
    ("module_path", "source"),
    [
        ("compose.x", "from engine.api import Engine, EngineError\n"),
        ("compose.x", "import engine.api\n"),
        ("compose.x", "import engine\n"),
        ("compose.x", "from engine import prewarm_supervisors, sha256_hex\n"),
        ("compose.x", "from engine import api\n"),
        ("compose.x", "from compose.model import Project\nimport os\n"),
        ("compose.cli.x", "from .. import model\nfrom . import errors\n"),
        ("engine.x", "from engine.errors import EngineError\nfrom netdriver.api import Network\n"),
        ("netdriver.x", "from netdriver.errors import NetworkError\nfrom . import rtnl\n"),
    ],
)
def test_checker_allows(module_path: str, source: str) -> None:
    assert violations(source, "fine.py", module_path) == []
