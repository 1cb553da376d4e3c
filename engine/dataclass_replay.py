"""A whole dataclass made again from what `dataclasses` did to it the first time.

Every command is a fresh process, and with the generated methods' code already cached
(engine.dataclass_code_cache) `dataclasses` still spent ~20 ms of the CLI's and of the fork
server's start-up per process on the rest of its work: reading each field's annotation for
ClassVar/InitVar/KW_ONLY, building each method's source text, hashing it to find its code.
The result depends only on the class's shape, so the first time a shape is seen `describe`
notes what the decorator did (attributes set and deleted, each generated method's code and
where its closure's values come from: a field's type or default, the class, a constant), and
later processes `replay` it for a class of the same `fingerprint`.

The shape is everything the generated code and the decisions depend on: the decorator's
arguments, the class's own annotations (strings) and the kind of each default, its dataclass
bases' fields, the methods it defines itself, whether it has `__post_init__`, whether `typing`
is loaded when an annotation names ClassVar (dataclasses only recognises one then; an alias of
ClassVar under another name is not looked for). Not the default values themselves: the
generated code takes them from the fields at run time. Anything unusual (no docstring: its
text would come from the signature; slots; a non-string annotation; an unhashable default,
which dataclasses refuses) gets no fingerprint and is made the ordinary way, errors included.

CPython 3.11 and 3.12 only: the two whose `_process_class` makes methods through
`_create_fn(name, args, body, *, globals, locals, return_type)`.
"""

from __future__ import annotations

import _thread
import sys
from types import CodeType, FunctionType

TYPE_CHECKING = False  # `typing` costs ~7 ms of every command's start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Entry = tuple[tuple[Any, ...], tuple[Any, ...], tuple[str, ...]]

# Methods a class may define itself, which dataclasses then leaves alone.
OWN_METHODS = ("__init__", "__repr__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__",
               "__setattr__", "__delattr__", "__hash__", "__match_args__")
# Attributes `replay` makes itself rather than from the description.
REBUILT = frozenset({"__dataclass_fields__", "__dataclass_params__", "__abstractmethods__"})
_FIELD_LOCAL_PREFIXES = (("_type_", "", "type"), ("_dflt_", "", "default"),  # 3.11
                         ("__dataclass_type_", "__", "type"),  # 3.12
                         ("__dataclass_dflt_", "__", "default"))

_recording = _thread._local()


def _dataclasses() -> Any:
    return sys.modules["dataclasses"]


def fingerprint(cls: type, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The class's shape as a marshal-able key; None: make it the ordinary way."""
    own = cls.__dict__
    if not own.get("__doc__") or cls.__module__ not in sys.modules:
        return None
    dc = _dataclasses()
    annotations = own.get("__annotations__", {})
    fields = []
    for name, annotation in annotations.items():
        shape = _default_shape(dc, getattr(cls, name, dc.MISSING))
        if shape is None or type(annotation) is not str:
            return None
        fields.append((name, annotation, shape))
    if any(isinstance(value, dc.Field) and name not in annotations for name, value in own.items()):
        return None  # a field without an annotation: dataclasses' error
    bases = []
    for base in cls.__mro__[1:-1]:
        base_fields = getattr(base, "__dataclass_fields__", None)
        shape = None if base_fields is None else _fields_shape(dc, base, base_fields)
        if base_fields is not None and shape is None:
            return None
        bases.append((base.__module__, base.__qualname__, shape))
    defined = tuple(name for name in OWN_METHODS if name in own)
    hash_is_none = own.get("__hash__", 0) is None
    # dataclasses tells a ClassVar only once `typing` is loaded: that matters to a class with one
    classvar = "typing" in sys.modules and any("ClassVar" in a for _, a, _ in fields)
    return (cls.__qualname__, params, tuple(fields), tuple(bases), defined, hash_is_none,
            hasattr(cls, "__post_init__"), classvar)


def _default_shape(dc: Any, value: object) -> tuple[Any, ...] | None:
    if value is dc.MISSING:
        return ("none",)
    if isinstance(value, dc.Field):
        if value.default is not dc.MISSING and type(value.default).__hash__ is None:
            return None
        return ("field", *_field_options(dc, value))
    if type(value).__hash__ is None or type(value).__name__ == "member_descriptor":
        return None  # dataclasses refuses the first; the second is a slot
    return ("value",)


def _fields_shape(dc: Any, base: type, fields: dict[str, Any]) -> tuple[Any, ...] | None:
    shapes = []
    for f in fields.values():
        if type(f.type) is not str:
            return None
        shapes.append((f.name, f.type, f._field_type.name, *_field_options(dc, f)))
    return (base.__dataclass_params__.frozen, tuple(shapes))  # type: ignore[attr-defined]


def _field_options(dc: Any, f: Any) -> tuple[Any, ...]:
    """What of a Field the generated code depends on: the kind of its default (not the value:
    the code takes that from the field) and its flags."""
    kind = "factory" if f.default_factory is not dc.MISSING else (
        "none" if f.default is dc.MISSING else "value")
    kw_only = None if f.kw_only is dc.MISSING else f.kw_only
    return (kind, f.init, f.repr, f.hash, f.compare, kw_only)


class recording:
    """While active in this thread, methods made through `create_fn` are noted with their code
    and closure values (nested uses do not happen: dataclasses makes one class at a time)."""

    def __enter__(self) -> dict[int, tuple[FunctionType, CodeType, dict[str, Any]]]:
        made: dict[int, tuple[FunctionType, CodeType, dict[str, Any]]] = {}
        _recording.made = made
        return made

    def __exit__(self, *_: object) -> None:
        _recording.made = None


def create_fn_recording(missing: Any, code_for: Callable[[str], CodeType]) -> Callable[..., Any]:
    """`dataclasses._create_fn` of CPython 3.11/3.12 (same source text, so the same method),
    its code from `code_for`, noting each method for `describe` while `recording`."""
    return_local = "_return_type" if sys.version_info < (3, 12) else "__dataclass_return_type__"

    def _create_fn(name: str, args: list[str], body: list[str], *,
                   globals: dict[str, Any] | None = None, locals: dict[str, Any] | None = None,
                   return_type: Any = missing) -> Any:
        if locals is None:
            locals = {}
        return_annotation = ""
        if return_type is not missing:
            locals[return_local] = return_type
            return_annotation = f"->{return_local}"
        indented = "\n".join(f"  {line}" for line in body)
        function = f" def {name}({','.join(args)}){return_annotation}:\n{indented}"
        source = f"def __create_fn__({', '.join(locals.keys())}):\n{function}\n return {name}"
        code = code_for(source)
        namespace: dict[str, Any] = {}
        exec(code, globals, namespace)  # the source dataclasses generated
        made = namespace["__create_fn__"](**locals)
        noted = getattr(_recording, "made", None)
        if noted is not None:
            noted[id(made)] = (made, code, dict(locals))
        return made

    _create_fn.installed_by = __name__  # type: ignore[attr-defined]
    return _create_fn


def describe(cls: type, before: dict[str, Any],
             made: dict[int, tuple[FunctionType, CodeType, dict[str, Any]]]) -> Entry | None:
    """What the decorator did to `cls` (whose dict was `before`), for `replay`; None when
    something in it cannot be told from the class's shape alone."""
    dc = _dataclasses()
    after = cls.__dict__
    fields = after["__dataclass_fields__"]
    own_fields = []
    for name in before.get("__annotations__", {}):
        f = fields.get(name)
        if f is None:
            continue  # the KW_ONLY marker
        kw_only = None if f.kw_only is dc.MISSING else f.kw_only
        own_fields.append((name, f._field_type.name, kw_only))
    changes = []
    for name, value in after.items():
        if name in REBUILT or (name in before and before[name] is value):
            continue
        change = _change(dc, cls, name, value, fields, made)
        if change is None:
            return None
        changes.append((name, *change))
    deleted = tuple(name for name in before if name not in after)
    return tuple(own_fields), tuple(changes), deleted


def _change(
    dc: Any, cls: type, name: str, value: Any, fields: dict[str, Any],
    made: dict[int, tuple[FunctionType, CodeType, dict[str, Any]]],
) -> tuple[Any, ...] | None:
    wrapped = getattr(value, "__wrapped__", None) if isinstance(value, FunctionType) else None
    for kind, function in (("fn", value), ("repr", wrapped)):
        noted = made.get(id(function)) if function is not None else None
        if noted is not None and noted[0] is function:
            spec = _closure_spec(dc, cls, noted[2], fields)
            return None if spec is None else (kind, (noted[1], spec, value.__qualname__))
    if name in fields and value is fields[name].default:
        return ("default", None)
    if value is None or (type(value) is tuple and all(type(v) is str for v in value)):
        return ("value", value)
    return None


def _constants(dc: Any) -> dict[str, object]:
    return {"MISSING": dc.MISSING, "HAS_DEFAULT_FACTORY": dc._HAS_DEFAULT_FACTORY,
            "object": object, "FrozenInstanceError": dc.FrozenInstanceError, "None": None}


def _closure_spec(dc: Any, cls: type, local_values: dict[str, Any],
                  fields: dict[str, Any]) -> tuple[tuple[str, Any], ...] | None:
    constants = _constants(dc)
    spec = []
    for local, value in local_values.items():
        how: tuple[str, str] | str | None = _field_source(local, value, fields)
        if how is None:
            how = "cls" if value is cls else next(
                (tag for tag, known in constants.items() if value is known), None)
        if how is None:
            return None
        spec.append((local, how))
    return tuple(spec)


def _field_source(local: str, value: object, fields: dict[str, Any]) -> tuple[str, str] | None:
    for prefix, suffix, kind in _FIELD_LOCAL_PREFIXES:
        if not (local.startswith(prefix) and local.endswith(suffix)):
            continue
        f = fields.get(local[len(prefix):len(local) - len(suffix)])
        if f is None:
            continue
        if kind == "type" and value is f.type:
            return ("type", f.name)
        if kind == "default" and value is f.default:
            return ("default", f.name)
        if kind == "default" and value is f.default_factory:
            return ("factory", f.name)
    return None


def replay(cls: type, entry: Entry, params: tuple[Any, ...]) -> type | None:
    """Do to `cls` what `describe` noted; None (the class untouched but for its own Field
    objects, which dataclasses fills in the same way) when the entry does not fit."""
    dc = _dataclasses()
    try:
        own_fields, changes, deleted = entry
        fields = _fields(dc, cls, own_fields)
        context = (cls, fields, _constants(dc), sys.modules[cls.__module__].__dict__)
        made = {name: _made(dc, context, name, (kind, payload)) for name, kind, payload in changes}
        argcount = dc._DataclassParams.__init__.__code__.co_argcount - 1
        dataclass_params = dc._DataclassParams(*params[:argcount])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
    cls.__dataclass_params__ = dataclass_params  # type: ignore[attr-defined]
    for name in deleted:
        delattr(cls, name)
    cls.__dataclass_fields__ = fields  # type: ignore[attr-defined]
    for name, value in made.items():
        setattr(cls, name, value)
    import abc

    abc.update_abstractmethods(cls)
    return cls


def _fields(dc: Any, cls: type, own_fields: tuple[Any, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for base in cls.__mro__[-1:0:-1]:
        base_fields = getattr(base, "__dataclass_fields__", None)
        if base_fields is not None:
            for f in base_fields.values():
                fields[f.name] = f
    own = cls.__dict__  # (not inspect.get_annotations: `inspect` costs ~10 ms to import)
    annotations = own.get("__annotations__", {})
    for name, field_type, kw_only in own_fields:
        value = getattr(cls, name, dc.MISSING)
        f = value if isinstance(value, dc.Field) else dc.field(default=value)
        f.name = name
        f.type = annotations[name]
        f._field_type = getattr(dc, field_type)
        f.kw_only = dc.MISSING if kw_only is None else kw_only
        fields[name] = f
    return fields


def _made(dc: Any, context: tuple[Any, ...], name: str, change: tuple[str, Any]) -> Any:
    cls, fields, constants, module_globals = context
    kind, payload = change
    if kind == "value":
        return payload
    if kind == "default":
        return fields[name].default
    code, spec, qualname = payload
    local_values = {}
    for local, how in spec:
        if type(how) is tuple:
            source, field_name = how
            f = fields[field_name]
            local_values[local] = (f.type if source == "type" else
                                   f.default if source == "default" else f.default_factory)
        else:
            local_values[local] = cls if how == "cls" else constants[how]
    namespace: dict[str, Any] = {}
    exec(code, module_globals, namespace)
    function = namespace["__create_fn__"](**local_values)
    if kind == "repr":
        function = dc._recursive_repr(function)
    function.__qualname__ = qualname
    return function
