"""Read Compose YAML into plain Python values while remembering where every key came from.

PyYAML's constructors forget positions, so we compose the node tree ourselves and build the
values while walking it; every mapping key and sequence item records its line in a side table
keyed by its path (`("services", "web", "ports", 1)`). Errors must point at file and line, and
the Compose-specific tags `!reset` / `!override` must survive until the merge step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compose.errors import ComposeFileError, Problem

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """Where a key was written: file name and 1-based line."""

    file: str
    line: int


@dataclass(frozen=True)
class Reset:
    """Value tagged `!reset`: the merge removes the key instead of merging into it."""

    value: Any = None


@dataclass(frozen=True)
class Override:
    """Value tagged `!override`: the merge replaces the key instead of merging into it."""

    value: Any = None


@dataclass
class Locations:
    """Side table from key paths to where they were written; later registrations win."""

    table: dict[KeyPath, Location] = field(default_factory=dict)

    def add(self, path: KeyPath, loc: Location) -> None:
        self.table[path] = loc

    def update(self, other: Locations) -> None:
        self.table.update(other.table)

    def find(self, path: KeyPath) -> Location | None:
        """The location of `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            loc = self.table.get(p)
            if loc is not None:
                return loc
            p = p[:-1]
        return self.table.get(())

    def rebase(self, old: KeyPath, new: KeyPath) -> Locations:
        """Copy of the entries under `old` moved under `new` (for extends/include)."""
        out = Locations()
        n = len(old)
        for path, loc in self.table.items():
            if path[:n] == old:
                out.table[new + path[n:]] = loc
        return out


@dataclass(frozen=True)
class Document:
    """One YAML document of a stack file: its value and its key locations."""

    file: str
    data: Any
    locations: Locations


def format_key(path: KeyPath) -> str:
    """`("services", "web", "ports", 1)` -> `services.web.ports[1]` (how problems name keys)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# libyaml's parser when PyYAML was built with it (it is on PyPI's wheels): ~5x faster on big
# files, and its nodes carry the same marks, so file:line reporting is unchanged.
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """SafeLoader that knows the Compose tags (values are built by `_Builder`, not here)."""


_Loader.add_constructor("!reset", lambda loader, node: None)
_Loader.add_constructor("!override", lambda loader, node: None)

# Plain scalars typed as compose-go's YAML library (go-yaml v3) types them: YAML 1.2's
# booleans, Go's integer syntax (`0700` stays octal, as in YAML 1.1). PyYAML is YAML 1.1: there
# `restart: no` is false (refused: "must be a string"), `FOO: yes` in `environment` becomes
# "true" instead of "yes", `- 22:22` in `ports` is the base-60 number 1342, and `2020-01-01`
# a date. Null keeps PyYAML's resolver (the same in both).
_CORE = {
    "tag:yaml.org,2002:bool": (r"true|True|TRUE|false|False|FALSE", "tTfF"),
    "tag:yaml.org,2002:int": (
        r"[-+]?(?:0|[1-9][0-9_]*|0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)", "-+0123456789"
    ),
    "tag:yaml.org,2002:float": (
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
    ),
}
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers
        if tag not in _CORE and tag != "tag:yaml.org,2002:timestamp"
    ]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
for _tag, (_pattern, _firsts) in _CORE.items():
    _Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_firsts))


def _core_int(loader: _Loader, node: ScalarNode) -> int:
    """Go's `strconv.ParseInt(s, 0, 64)` after go-yaml drops underscores: 0x, 0o, 0b, and a
    leading 0 for octal (`mode: 0700`)."""
    text = loader.construct_scalar(node).replace("_", "")
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
        return int(text, 8)
    return int(text, 0)


_Loader.add_constructor("tag:yaml.org,2002:int", _core_int)


# Values one file may expand to: aliases make a tree of a few lines grow exponentially (the
# "billion laughs"); a real stack file has a few thousand values.
MAX_VALUES = 200_000


class _Builder:
    """Turns a composed node tree into values, recording key lines and rejecting duplicates."""

    def __init__(self, loader: _Loader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.locations = Locations()
        self.problems: list[Problem] = []
        self._active: set[int] = set()
        self._values = 0

    def build(self, node: Node, path: KeyPath) -> Any:
        if node.tag == "!reset":
            inner = self._plain(node, path)
            return Reset(inner)
        if node.tag == "!override":
            return Override(self._plain(node, path))
        return self._plain(node, path)

    def _plain(self, node: Node, path: KeyPath) -> Any:
        self._values += 1
        if self._values > MAX_VALUES:  # once over, every further value is None at once
            if self._values == MAX_VALUES + 1:
                self._problem(
                    f"excessive aliasing: more than {MAX_VALUES} values once YAML aliases are "
                    "expanded", node, path,
                )
            return None
        if isinstance(node, ScalarNode):
            if node.tag in ("!reset", "!override"):
                if node.value == "":
                    return None
                node = ScalarNode(
                    self.loader.resolve(ScalarNode, node.value, (True, False)),
                    node.value, node.start_mark, node.end_mark, node.style,
                )
            return self.loader.construct_object(node, deep=True)
        if id(node) in self._active:
            self._problem("recursive YAML alias", node, path)
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                items = []
                for i, child in enumerate(node.value):
                    self._record((*path, i), child)
                    items.append(self.build(child, (*path, i)))
                return items
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
        return None  # pragma: no cover

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node, path)
            if key in seen:
                self._problem(
                    f'mapping key "{key}" already defined at line {seen[key]}', key_node, path
                )
            else:
                seen[key] = key_node.start_mark.line + 1
        # `<<` merge keys: flatten like SafeLoader does, explicit keys win over merged ones.
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            self._problem(str(exc.problem), node, path)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            child = (*path, key)
            self._record(child, key_node)
            out[key] = self.build(value_node, child)
        return out

    def _key(self, node: Node, path: KeyPath) -> str:
        if not isinstance(node, ScalarNode):
            self._problem("mapping keys must be strings", node, path)
            return f"<complex key at line {node.start_mark.line + 1}>"
        value = self.loader.construct_object(node, deep=True)
        if value is None:
            return "null" if node.value else ""
        if isinstance(value, bool):
            return node.value
        return str(value)

    def _record(self, path: KeyPath, node: Node) -> None:
        self.locations.add(path, Location(self.file, node.start_mark.line + 1))

    def _problem(self, message: str, node: Node, path: KeyPath) -> None:
        self.problems.append(
            Problem(message, self.file, node.start_mark.line + 1, format_key(path) or None)
        )


def _at_tab(text: str, mark: yaml.Mark | None) -> bool:
    """libyaml does not name the character it choked on: look at the source line."""
    if mark is None:
        return False
    lines = text.splitlines()
    if mark.line >= len(lines):
        return False
    return "\t" in lines[mark.line][: mark.column + 1]


def _yaml_problem(exc: yaml.YAMLError, file: str, text: str = "") -> Problem:
    """Turn PyYAML's error into a Problem with a Compose-flavoured message."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if "'\\t'" in problem or "\\t" in problem or _at_tab(text, exc.problem_mark):
            problem = "found a tab character that violates indentation"
        elif exc.context:
            problem = f"{exc.context}: {problem}"
        return Problem(f"yaml: {problem}", file, line)
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, a position
        line = text[: exc.position].count("\n") + 1 if text else None
        code = f" (#x{exc.character:02x})" if isinstance(exc.character, int) else ""
        return Problem(f"yaml: control characters are not allowed{code}", file, line)
    return Problem(f"yaml: {exc}", file)


def parse_documents(text: str, file: str) -> list[Document]:
    """Every document in `text`, with locations; raises ComposeFileError on bad YAML."""
    try:  # the reader rejects control characters already while the loader is built
        loader = _Loader(text)
    except yaml.YAMLError as exc:
        raise ComposeFileError([_yaml_problem(exc, file, text)]) from None
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            builder = _Builder(loader, file)
            builder.locations.add((), Location(file, node.start_mark.line + 1))
            data = builder.build(node, ())
            if builder.problems:
                raise ComposeFileError(builder.problems)
            docs.append(Document(file, data, builder.locations))
    except yaml.YAMLError as exc:
        raise ComposeFileError([_yaml_problem(exc, file, text)]) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ComposeFileError([Problem(f"yaml: {exc}", file)]) from None
    finally:
        loader.dispose()
    return docs
