"""The Go text/template subset docker's `--format` takes (`ps`, `stats`, `volume ls`).

What scripts write: `{{.Field}}`, `{{.A.B}}`, `{{json .}}`, pipes (`{{.Name | upper}}`),
docker's functions (json, split, join, title, lower, upper, pad, truncate) and Go's (print,
printf, println, len, index, slice, html, js, urlquery, call, eq, ne, lt, le, gt, ge, and, or, not),
`{{if}}`/`{{else if}}`/`{{else}}`, `{{range}}` (with `{{break}}`/`{{continue}}`), `{{with}}`
(and `{{else with}}`), named templates (`{{define}}`, `{{template}}`, `{{block}}`), variables
(`{{$x := .Name}}`, `{{$x = …}}`, `{{range $i, $e := .L}}`, `$` for the row),
`(pipeline).Field`, `{{- -}}` trimming, comments, and a leading `table`
for a header row and columns aligned as docker's tabwriter aligns them. Rows are dicts
shaped like the structs docker formats: a field that is not there is an error, as it is for
a struct.
`methods` stands for the structs' methods that take arguments (`{{.Label "x"}}`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field

from compose.cli.go_struct import GoStruct

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    Method = Callable[..., object]

TABLE_MIN_WIDTH = 10  # tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) in docker's formatter
TABLE_PADDING = 3
NO_VALUE = "<no value>"


class TemplateError(ValueError):
    """A template that does not parse, or fails on a row (docker: `template: …`)."""


# ---- parsing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """`.A.B`, `$.A` or `$x.A`: a walk from the dot (the row, a variable) through fields."""

    var: str | None  # None: the dot; "$": the row; "$x": a variable
    chain: tuple[str, ...]


@dataclass(frozen=True)
class Chained:
    """`(pipeline).A.B`: a walk through fields of a parenthesized pipeline's value."""

    operand: Pipeline
    chain: tuple[str, ...]


@dataclass(frozen=True)
class Literal:
    """A string, number, bool or nil written in the template."""

    value: object


@dataclass(frozen=True)
class Func:
    """A function named by the template, called with the command's other operands."""

    name: str


@dataclass(frozen=True)
class Command:
    """One step of a pipeline: operands, the first a function, field or value."""

    operands: tuple[object, ...]  # Field | Literal | Func | Pipeline


@dataclass(frozen=True)
class Pipeline:
    """Commands joined by `|`: each one's result is the next one's last argument; with
    `variables`, its value is declared (`:=`) or assigned (`=`) to them first."""

    commands: tuple[Command, ...]
    variables: tuple[str, ...] = ()
    declare: bool = True


@dataclass(frozen=True)
class Text:
    """Template text between actions, printed as it is."""

    text: str


@dataclass(frozen=True)
class Action:
    """`{{pipeline}}`: its value printed as fmt's %v prints it."""

    pipeline: Pipeline


@dataclass(frozen=True)
class Block:
    """`{{if}}`, `{{range}}` or `{{with}}` with its body and its `{{else}}` branch (an
    `{{else if}}`/`{{else with}}` is a block alone in it)."""

    kind: str  # if | range | with
    pipeline: Pipeline
    body: list[object] = field(default_factory=list)
    otherwise: list[object] = field(default_factory=list)


@dataclass(frozen=True)
class LoopControl:
    """`{{break}}` or `{{continue}}` inside a `{{range}}`."""

    word: str


@dataclass(frozen=True)
class TemplateCall:
    """`{{template "name" pipeline}}`, or what a `{{block}}` leaves where it stands: the named
    template run with the pipeline's value as its dot and its `$` (no variables inherited)."""

    name: str
    pipeline: Pipeline | None
    action: str = ""  # as written (`template "x" .`), for errors: Go's node text


MAIN = ""  # docker's templates.Parse names the template it parses ""


@dataclass(frozen=True)
class Parsed:
    """A template as Go's Parse leaves it: the main one (named "") and those named by
    `{{define}}` or `{{block}}`, by name."""

    templates: dict[str, list[object]]

    @property
    def root(self) -> list[object]:
        return self.templates.get(MAIN, [])


@dataclass(frozen=True)
class _Open:
    """What the next `{{end}}` closes: an `{{if}}`/`{{range}}`/`{{with}}` (with the `{{else
    if}}`s chained to it) or the body of a `{{define}}`/`{{block}}` (`definition`: its name),
    and the node list the parser goes back to after it."""

    returns_to: list[object]
    blocks: list[Block]
    definition: str | None = None
    body: list[object] = field(default_factory=list)


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:\\.|[^"\\])*")
    | (?P<raw>`[^`]*`)
    | (?P<char>'(?:\\.[^']*|[^'\\])')
    | (?P<number>[+-]?(?:0[xX][\da-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+
        |(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?[\d_]+)?)(?![\w.]))
    | (?P<field>(?:\$\w*)?(?:\.\w+)+|\$\w*|\.)
    | (?P<ident>[A-Za-z_]\w*)
    | (?P<declare>:=|=)
    | (?P<punct>[|(),])
    )""",
    re.VERBOSE,
)
FUNCTIONS = frozenset({
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate", "print", "printf",
    "println", "len", "index", "slice", "html", "urlquery", "eq", "ne", "lt", "le", "gt", "ge",
    "and", "or", "not", "js", "call",
})


def _tokens(source: str) -> list[tuple[str, str]]:
    """The action's tokens; `.A` written right after `)` is a `chain` on the parenthesis."""
    out: list[tuple[str, str]] = []
    position = 0
    while source[position:].strip():
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise TemplateError(f"unexpected {source[position:].strip()!r} in action")
        kind = match.lastgroup or ""
        text = match.group(kind)
        glued = match.start(kind) == position and out and out[-1] == ("punct", ")")
        if kind == "field" and text.startswith(".") and glued:
            kind = "chain"
        out.append((kind, text))
        position = match.end()
    return out


def _number(text: str) -> int | float:
    """Go's number syntax: decimal, 0x/0o/0b (and a leading 0: octal), `_` between digits,
    floats with a fraction or an exponent."""
    digits = text.lstrip("+-")
    if re.fullmatch(r"0[0-7_]+", digits):
        return int(text, 8)
    try:
        return int(text, 0)
    except ValueError:
        return float(text)


def _char(text: str) -> int:
    """A character constant (`'a'`, `'\\n'`, `'\\u00e9'`) is its code point, as Go's rune."""
    import codecs

    inner = text[1:-1]
    decoded = codecs.decode(inner, "unicode_escape") if inner.startswith("\\") else inner
    if len(decoded) != 1:
        raise TemplateError(f"malformed character constant: {text}")
    return ord(decoded)


def _operand(kind: str, text: str) -> object:
    if kind == "string":
        return Literal(json.loads(text))
    if kind == "raw":
        return Literal(text[1:-1])
    if kind == "number":
        return Literal(_number(text))
    if kind == "char":
        return Literal(_char(text))
    if kind == "field":
        head, _, rest = text.partition(".")
        return Field(head or None, tuple(n for n in rest.split(".") if n))
    if text in ("true", "false"):
        return Literal(text == "true")
    if text == "nil":
        return Literal(None)
    if text not in FUNCTIONS:
        raise TemplateError(f'function "{text}" not defined')
    return Func(text)


def _pipeline(tokens: list[tuple[str, str]], start: int = 0) -> tuple[Pipeline, int]:
    commands: list[Command] = []
    operands: list[object] = []
    i = start
    while i < len(tokens):
        kind, text = tokens[i]
        if text == "|" and kind == "punct":
            if not operands:
                raise TemplateError("missing command before |")
            commands.append(Command(tuple(operands)))
            operands = []
        elif text == "(" and kind == "punct":
            inner, i = _pipeline(tokens, i + 1)
            operands.append(inner)
        elif text == ")" and kind == "punct":
            break
        elif kind == "chain":
            if not operands or not isinstance(operands[-1], Pipeline):
                raise TemplateError(f"unexpected {text!r} in operand")
            operands[-1] = Chained(operands[-1], tuple(n for n in text.split(".") if n))
        elif kind in ("declare", "punct"):
            raise TemplateError(f"unexpected {text!r} in command")
        else:
            operands.append(_operand(kind, text))
        i += 1
    if not operands:
        raise TemplateError("missing value for command")
    commands.append(Command(tuple(operands)))
    return Pipeline(tuple(commands)), i


def _is_variable(token: tuple[str, str]) -> bool:
    return token[0] == "field" and token[1].startswith("$") and "." not in token[1]


def _declaration(tokens: list[tuple[str, str]], in_range: bool) -> tuple[tuple[str, ...], int]:
    """The variables a pipeline starts by declaring (`$x :=`, `$i, $e :=` in a range) or
    assigning (`$x =`), and where its commands begin."""
    if len(tokens) >= 4 and _is_variable(tokens[0]) and tokens[1] == ("punct", ","):
        if not (in_range and _is_variable(tokens[2]) and tokens[3][0] == "declare"):
            raise TemplateError("too many declarations in command")
        return (tokens[0][1], tokens[2][1]), 3
    if len(tokens) >= 2 and _is_variable(tokens[0]) and tokens[1][0] == "declare":
        return (tokens[0][1],), 1
    return (), -1


def parse_pipeline(source: str, in_range: bool = False) -> Pipeline:
    tokens = _tokens(source)
    variables, at = _declaration(tokens, in_range)
    if "$" in variables:
        raise TemplateError('cannot assign to "$"')
    pipeline, end = _pipeline(tokens, at + 1)
    if end < len(tokens):
        raise TemplateError("unexpected ) in command")
    if variables:
        declare = tokens[at][1] == ":="
        return Pipeline(pipeline.commands, variables, declare)
    return pipeline


def parse(template: str) -> Parsed:
    """The template's nodes, by template name; `{{if}}`, `{{range}}` and `{{with}}` hold their
    bodies."""
    try:
        return _parse(template)
    except TemplateError:
        raise
    except ValueError as exc:  # a string literal json cannot read, a number too long
        raise TemplateError(str(exc)) from None


def _is_empty(nodes: list[object]) -> bool:
    """Go's IsEmptyTree: nothing but space (a definition that may be replaced)."""
    return all(isinstance(node, Text) and not node.text.strip() for node in nodes)


def _add(templates: dict[str, list[object]], name: str, body: list[object]) -> None:
    """Go's Tree.add: an empty definition gives way to a full one; two full ones in one
    template are an error."""
    known = templates.get(name)
    if known is None or _is_empty(known):
        templates[name] = body
    elif not _is_empty(body):
        raise TemplateError(f"template: multiple definition of template {_quote(name)}")


def _quote(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _template_name(source: str, clause: str) -> tuple[str, str]:
    """The quoted name a `{{define}}`, `{{template}}` or `{{block}}` starts with, and the rest
    of the action."""
    match = _TOKEN.match(source)
    kind = match.lastgroup if match else None
    if match is None or kind not in ("string", "raw"):
        found = source.strip().split(None, 1)[:1] or ["}}"]
        raise TemplateError(f"unexpected {found[0]!r} in {clause}")
    value = _operand(kind, match.group(kind))
    assert isinstance(value, Literal)
    return str(value.value), source[match.end():]


def _in_range(stack: list[_Open]) -> bool:
    """Whether a {{break}} here has a range to leave: a definition's body starts afresh."""
    for frame in reversed(stack):
        if frame.definition is not None:
            return False
        if frame.blocks[0].kind == "range":
            return True
    return False


def _parse(template: str) -> Parsed:
    templates: dict[str, list[object]] = {}
    root: list[object] = []
    target = root
    stack: list[_Open] = []
    position, trim_next = 0, False
    for match in _ACTION.finditer(template):
        text = template[position:match.start()]
        text = text.lstrip() if trim_next else text
        text = text.rstrip() if match.group(1) else text
        if text:
            target.append(Text(text))
        position, trim_next = match.end(), bool(match.group(3))
        body = match.group(2).strip()
        word = body.split(None, 1)[0] if body else ""
        rest = body[len(word):]
        if body.startswith("/*"):
            continue
        if word in ("if", "range", "with"):
            block = Block(word, parse_pipeline(rest, in_range=word == "range"))
            target.append(block)
            stack.append(_Open(target, [block]))
            target = block.body
        elif word == "define":
            if stack:
                raise TemplateError("unexpected <define> in command")
            name, after = _template_name(rest, "define clause")
            if after.strip():
                raise TemplateError(f"unexpected {after.strip()!r} in define clause")
            stack.append(_Open(target, [], name))
            target = stack[-1].body
        elif word in ("template", "block"):
            name, after = _template_name(rest, f"{word} clause")
            if word == "block" and not after.strip():
                raise TemplateError("missing value for block clause")
            pipeline = parse_pipeline(after) if after.strip() else None
            written = " ".join([word, _quote(name), *after.split()])
            target.append(TemplateCall(name, pipeline, "template" + written[len(word):]))
            if word == "block":
                stack.append(_Open(target, [], name))
                target = stack[-1].body
        elif word == "else":
            if not stack or stack[-1].definition is not None:
                raise TemplateError("unexpected {{else}}")
            rest = rest.strip()
            chain = stack[-1].blocks
            also = rest.split(None, 1)[:1]
            if also == ["if"] or (also == ["with"] and chain[0].kind == "with"):
                nested = Block(also[0], parse_pipeline(rest[len(also[0]):]))
                chain[-1].otherwise.append(nested)
                chain.append(nested)
                target = nested.body
            else:
                target = chain[-1].otherwise
        elif word == "end":
            if not stack:
                raise TemplateError("unexpected {{end}}")
            closed = stack.pop()
            if closed.definition is not None:
                _add(templates, closed.definition, closed.body)
            target = closed.returns_to
        elif word in ("break", "continue"):
            if body != word or not _in_range(stack):
                raise TemplateError(f"{{{{{word}}}}} outside {{{{range}}}}")
            target.append(LoopControl(word))
        else:
            target.append(Action(parse_pipeline(body)))
    if stack:
        unclosed = stack[-1].definition
        what = "an {{if}}, {{range}} or {{with}}" if unclosed is None else (
            f"the definition of {_quote(unclosed)}")
        raise TemplateError(f"unexpected EOF: {what} lacks its {{{{end}}}}")
    text = template[position:]
    text = text.lstrip() if trim_next else text
    if "{{" in text:
        raise TemplateError("unclosed action")
    if text:
        target.append(Text(text))
    _add(templates, MAIN, root)
    return Parsed(templates)


# ---- values ----------------------------------------------------------------------------------
def go_text(value: object) -> str:
    """fmt's %v of a value."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_text(v) for v in value) + "]"
    if isinstance(value, GoStruct):
        return "{" + " ".join(go_text(v) for v in value.values()) + "}"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def truthy(value: object) -> bool:
    return bool(value) if value is not None else False


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _printf(fmt: str, *args: object) -> str:
    """Go's verbs as Python's: %v is %s of the Go text, %q a quoted string."""
    converted: list[object] = []
    index = 0

    def verb(match: re.Match[str]) -> str:
        nonlocal index
        flags, kind = match.group(1), match.group(2)
        if kind == "%":
            return "%%"
        if index >= len(args):
            return f"%%!{kind}(MISSING)"
        value = args[index]
        index += 1
        if kind == "q":
            converted.append(json.dumps(go_text(value), ensure_ascii=False))
            return f"%{flags}s"
        if kind == "c" and isinstance(value, int) and not isinstance(value, bool):
            converted.append(chr(value))
            return f"%{flags}s"
        if kind == "b" and isinstance(value, int | float):
            converted.append(format(int(value), "b"))
            return f"%{flags}s"
        if kind in "dxXo" and isinstance(value, int | float):
            converted.append(int(value))
            return f"%{flags}{kind}"
        if kind in "feg" and isinstance(value, int | float):
            converted.append(float(value))
            return f"%{flags}{kind}"
        converted.append(go_text(value))
        return f"%{flags}s"

    pattern = re.sub(r"%([-+ 0#]*\d*(?:\.\d+)?)([a-zA-Z%])", verb, fmt)
    return pattern % tuple(converted)


def _print(*args: object) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_text(arg)
    return out


def _compare(op: str) -> Callable[..., bool]:
    def check(a: object, b: object) -> bool:
        try:
            if op == "lt":
                return a < b  # type: ignore[operator]
            if op == "le":
                return a <= b  # type: ignore[operator]
            if op == "gt":
                return a > b  # type: ignore[operator]
            return a >= b  # type: ignore[operator]
        except TypeError:
            raise TemplateError(f"error calling {op}: incompatible types for comparison") from None

    return check


def _len(value: object) -> int:
    if not isinstance(value, str | list | tuple | dict):
        raise TemplateError(f"error calling len: len of type {_go_type(value)}")
    return len(value)


def _slice(value: object, *indices: object) -> object:
    if not isinstance(value, str | list | tuple):
        raise TemplateError(f"error calling slice: can't slice item of type {_go_type(value)}")
    if len(indices) > 3 or (len(indices) == 3 and isinstance(value, str)):
        raise TemplateError("error calling slice: too many slice indexes")
    bounds = [int(i) for i in indices if isinstance(i, int | float)]
    if len(bounds) != len(indices):
        raise TemplateError("error calling slice: cannot index slice/array with a non-number")
    start, end = (bounds + [0, len(value)][len(bounds):])[:2]
    if not 0 <= start <= end <= len(value):
        raise TemplateError(f"error calling slice: index out of range: {end}")
    return value[start:end]


_HTML_ESCAPES = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                 "\0": "\uFFFD"}


def _html(*args: object) -> str:
    """Go's template.HTMLEscapeString of the operands printed as `print` does."""
    return "".join(_HTML_ESCAPES.get(c, c) for c in _print(*args))


_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}


def _js_char(char: str) -> str:
    if char in _JS_ESCAPES:
        return _JS_ESCAPES[char]
    if char < " " or (char > "\x7f" and not char.isprintable()):
        return f"\\u{ord(char):04X}"
    return char


def _js(*args: object) -> str:
    """Go's template.JSEscapeString of the operands printed as `print` does."""
    return "".join(_js_char(c) for c in _print(*args))


def _call_builtin(value: object = None, *_args: object) -> object:
    """Go's `call`: rows hold no functions, so whatever it is given is not one."""
    raise TemplateError(f"error calling call: non-function of type {_go_type(value)}")


def _urlquery(*args: object) -> str:
    from urllib.parse import quote_plus

    return quote_plus(_print(*args))


def _go_type(value: object) -> str:
    names = {bool: "bool", int: "int", float: "float64", str: "string", type(None): "nil"}
    return names.get(type(value), "map" if isinstance(value, dict) else "slice")


def _index(value: object, *keys: object) -> object:
    for key in keys:
        try:
            value = value[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            if isinstance(value, dict):
                return None
            raise TemplateError(f"error calling index: index {key!r} out of range") from None
    return value


BUILTINS: dict[str, Callable[..., object]] = {
    "json": _json,
    "split": lambda s, sep: str(s).split(sep),
    "join": lambda items, sep: sep.join(go_text(i) for i in items),
    "title": lambda s: re.sub(r"\b[a-z]", lambda m: m.group(0).upper(), go_text(s)),
    "lower": lambda s: go_text(s).lower(),
    "upper": lambda s: go_text(s).upper(),
    "pad": lambda s, left, right: " " * int(left) + go_text(s) + " " * int(right),
    "truncate": lambda s, n: go_text(s)[: int(n)],
    "print": _print,
    "printf": _printf,
    "println": lambda *a: " ".join(go_text(x) for x in a) + "\n",
    "len": _len,
    "index": _index,
    "slice": _slice,
    "html": _html,
    "urlquery": _urlquery,
    "js": _js,
    "call": _call_builtin,
    "eq": lambda a, *bs: any(a == b for b in bs),
    "ne": lambda a, b: a != b,
    "lt": _compare("lt"),
    "le": _compare("le"),
    "gt": _compare("gt"),
    "ge": _compare("ge"),
    "not": lambda v: not truthy(v),
}
# In the header row every function gives back its first argument: the column's title.
HEADER_FUNCTIONS = frozenset({"json", "split", "join", "title", "lower", "upper", "pad",
                              "truncate"})


# ---- execution -------------------------------------------------------------------------------
class _LoopSignal(Exception):
    """`{{break}}`/`{{continue}}` unwinding to the innermost range."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


@dataclass(frozen=True)
class _Scope:
    """What fields resolve against while a row executes: the dot, the row ($), methods,
    whether this is the table's header row, and the variables in scope (innermost last:
    a block's own are gone at its {{end}}, as Go's)."""

    dot: object
    root: object
    methods: Mapping[str, Method]
    header: bool
    lenient: bool = False  # a missing map key is nil (inspect documents are maps)
    frames: tuple[dict[str, object], ...] = ()
    templates: Mapping[str, list[object]] = field(default_factory=dict)
    name: str = MAIN  # the template executing, for errors

    def inner(self, dot: object) -> _Scope:
        return dataclasses.replace(self, dot=dot, frames=(*self.frames, {}))

    def variable(self, name: str) -> object:
        if name == "$":
            return self.root
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        raise TemplateError(f'undefined variable "{name}"')

    def bind(self, name: str, value: object, declare: bool) -> None:
        if declare:
            self.frames[-1][name] = value
            return
        for frame in reversed(self.frames):
            if name in frame:
                frame[name] = value
                return
        raise TemplateError(f'undefined variable "{name}"')


def _field(scope: _Scope, node: Field, args: list[object]) -> object:
    value = scope.dot if node.var is None else scope.variable(node.var)
    return _walk(scope, value, node.chain, args)


def _walk(scope: _Scope, value: object, chain: tuple[str, ...], args: list[object]) -> object:
    for position, name in enumerate(chain):
        if position == len(chain) - 1 and args:
            if name not in scope.methods:
                raise TemplateError(f"{name} is not a method but has arguments")
            return scope.methods[name](value, *args)
        if value is None and scope.lenient:
            return None  # Go: a field of a missing key's nil interface is <no value> too
        if isinstance(value, dict) and name in value:
            value = value[name]
        elif name in scope.methods:
            value = scope.methods[name](value)
        elif isinstance(value, dict) and scope.lenient:
            value = None
        elif isinstance(value, dict):
            raise TemplateError(
                f"can't evaluate field {name} (fields: {', '.join(sorted(value))})"
            )
        else:
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    if args:
        raise TemplateError("can't give argument to non-function")
    return value


def _value(scope: _Scope, operand: object) -> object:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Field):
        return _field(scope, operand, [])
    if isinstance(operand, Pipeline):
        return _run(scope, operand)
    if isinstance(operand, Chained):
        return _walk(scope, _run(scope, operand.operand), operand.chain, [])
    assert isinstance(operand, Func)
    return _call(scope, operand.name, [])


def _call(scope: _Scope, name: str, args: list[object]) -> object:
    if scope.header and name in HEADER_FUNCTIONS:
        return args[0] if args else ""
    if name in ("and", "or"):
        if not args:
            raise TemplateError(f"wrong number of args for {name}")
        for arg in args:
            if truthy(arg) == (name == "or"):
                return arg
        return args[-1]
    try:
        return BUILTINS[name](*args)
    except TypeError:
        raise TemplateError(f"wrong number of args for {name}: got {len(args)}") from None


def _command(scope: _Scope, command: Command, piped: tuple[object, ...]) -> object:
    first, rest = command.operands[0], command.operands[1:]
    if isinstance(first, Func) and first.name in ("and", "or") and (rest or piped):
        return _short_circuit(scope, first.name, rest, piped)
    if isinstance(first, Func):
        return _call(scope, first.name, [*(_value(scope, o) for o in rest), *piped])
    if isinstance(first, Field) and (rest or piped):
        return _field(scope, first, [*(_value(scope, o) for o in rest), *piped])
    if rest or piped:
        raise TemplateError("can't give argument to non-function")
    return _value(scope, first)


def _short_circuit(
    scope: _Scope, name: str, operands: tuple[object, ...], piped: tuple[object, ...]
) -> object:
    """Go's `and`/`or` (since 1.18): operands evaluated in turn, the first false (`and`) or
    true (`or`) one is the value and the rest are never evaluated, so `{{if and .L (index .L
    0)}}` guards the index; else the last operand (a piped value comes last)."""
    value: object = None
    for operand in operands:
        value = _value(scope, operand)
        if truthy(value) == (name == "or"):
            return value
    return piped[0] if piped else value


def _evaluate(scope: _Scope, pipeline: Pipeline) -> object:
    value: tuple[object, ...] = ()
    for command in pipeline.commands:
        value = (_command(scope, command, value),)
    return value[0]


def _run(scope: _Scope, pipeline: Pipeline) -> object:
    """The pipeline's value, declared or assigned to its variable first (`$x := …`)."""
    value = _evaluate(scope, pipeline)
    for name in pipeline.variables:
        scope.bind(name, value, pipeline.declare)
    return value


def _execute(scope: _Scope, nodes: list[object], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, Text):
            out.append(node.text)
        elif isinstance(node, Action):
            value = _run(scope, node.pipeline)
            if not node.pipeline.variables:  # Go prints nothing for a declaration
                out.append(go_text(value))
        elif isinstance(node, Block):
            _block(scope, node, out)
        elif isinstance(node, LoopControl):
            raise _LoopSignal(node.word)
        elif isinstance(node, TemplateCall):
            _call_template(scope, node, out)


def _call_template(scope: _Scope, node: TemplateCall, out: list[str]) -> None:
    """The named template with the pipeline's value as its dot and `$`, none of the caller's
    variables (Go: no dynamic scoping); without a pipeline the dot is nil, whose fields are
    `<no value>`."""
    body = scope.templates.get(node.name)
    if body is None:
        raise TemplateError(
            f"executing {_quote(scope.name)} at <{{{{{node.action}}}}}>: "
            f"template {_quote(node.name)} not defined"
        )
    dot = None if node.pipeline is None else _run(scope, node.pipeline)
    callee = dataclasses.replace(
        scope, dot=dot, root=dot, frames=({},), name=node.name,
        lenient=scope.lenient or dot is None,
    )
    try:
        _execute(callee, body, out)
    except _LoopSignal as signal:  # the parser keeps these inside a range of the body
        raise TemplateError(f"{{{{{signal.word}}}}} outside {{{{range}}}}") from None


def _block(scope: _Scope, node: Block, out: list[str]) -> None:
    scope = scope.inner(scope.dot)  # the block's variables end at its {{end}}
    if node.kind == "range":
        _range(scope, node, out)
        return
    value = _run(scope, node.pipeline)
    if not truthy(value):
        _execute(scope, node.otherwise, out)
    elif node.kind == "with":
        _execute(dataclasses.replace(scope, dot=value), node.body, out)
    else:
        _execute(scope, node.body, out)


def _range_items(value: object) -> list[tuple[object, object]] | None:
    """(key or index, element) pairs as Go ranges them: maps in key order, `range N` over
    0…N-1; None for what cannot be ranged over."""
    if isinstance(value, dict):
        return sorted(value.items(), key=lambda item: str(item[0]))
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return [(i, i) for i in range(value)]
    if value is None:
        return []
    return None


def _range(scope: _Scope, node: Block, out: list[str]) -> None:
    value = _evaluate(scope, node.pipeline)
    items = _range_items(value)
    if items is None and scope.header:
        return  # a header row has titles where lists were
    if items is None:
        raise TemplateError(f"range can't iterate over {go_text(value)}")
    if not items:
        _execute(scope, node.otherwise, out)
        return
    names = node.pipeline.variables
    for key, item in items:
        step = scope.inner(item)
        if len(names) == 2:
            step.bind(names[0], key, True)
        if names:
            step.bind(names[-1], item, True)
        try:
            _execute(step, node.body, out)
        except _LoopSignal as signal:
            if signal.word == "break":
                break


def execute(
    parsed: Parsed, row: object, methods: Mapping[str, Method] | None = None,
    header: bool = False, lenient: bool = False,
) -> str:
    """The row through the template; whatever goes wrong on the way is a TemplateError (the
    user's template, never a traceback)."""
    out: list[str] = []
    scope = _Scope(row, row, methods or {}, header, lenient, ({},), parsed.templates)
    try:
        _execute(scope, parsed.root, out)
    except TemplateError:
        raise
    except RecursionError:
        raise TemplateError("exceeded maximum template depth") from None
    except _LoopSignal as signal:  # in a range's {{else}}: no loop to leave
        raise TemplateError(f"{{{{{signal.word}}}}} outside {{{{range}}}}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            ZeroDivisionError) as exc:
        raise TemplateError(f"executing template: {exc}") from None
    return "".join(out)


def render_documents(template: str, documents: Sequence[object]) -> str:
    """`inspect --format`: each document through the template, one per line (as `docker
    inspect -f`); the documents are JSON maps, so a key they lack is `<no value>`."""
    parsed = parse(template)
    return "\n".join(execute(parsed, doc, lenient=True) for doc in documents)


# ---- docker's formatter ----------------------------------------------------------------------
def prepare(template: str) -> tuple[bool, str]:
    """(is a table, the template) as docker's Context.preFormat leaves them: `table` cut off,
    spaces trimmed, `\\t` and `\\n` written as two characters made a tab and a newline."""
    is_table = template.startswith("table")
    text = template[len("table"):] if is_table else template
    text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    return is_table, text


def tabwriter(text: str, min_width: int = TABLE_MIN_WIDTH) -> str:
    """Go's tabwriter as docker sets it up: a cell ended by a tab is padded to its column's
    widest such cell plus 3, at least `min_width`; a line's last cell is left as it is."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: dict[int, int] = {}
    for cells in lines:
        for i, cell in enumerate(cells[:-1]):
            widths[i] = max(widths.get(i, min_width), len(cell) + TABLE_PADDING)
    return "\n".join(
        "".join(c.ljust(widths[i]) for i, c in enumerate(cells[:-1])) + cells[-1]
        for cells in lines
    )


def render(
    template: str,
    rows: Sequence[object],
    headers: Mapping[str, str],
    methods: Mapping[str, Method] | None = None,
) -> str:
    """Every row through the template, one per line (no final newline); a `table` template
    gets a header line (`headers`: each field's column title) and aligned columns."""
    is_table, text = prepare(template)
    parsed = parse(text)
    lines = [execute(parsed, row, methods) for row in rows]
    if not is_table:
        return "\n".join(lines)
    fields = rows[0] if rows and isinstance(rows[0], dict) else {}
    header_row = {name: headers.get(name, name.upper()) for name in fields} | dict(headers)
    header_methods = {name: (lambda _row, *_a, n=name: n.upper()) for name in methods or {}}
    header = execute(parsed, header_row, header_methods, header=True)
    return tabwriter("\n".join([header, *lines]))
