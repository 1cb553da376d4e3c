"""A row's nested value that docker formats is a Go struct, not a map: `{{.Publishers}}`
prints `[{0.0.0.0 8080 80 tcp}]` (fmt's %v: the fields' values in declaration order), not
`map[...]`. Kept apart from the template module so `ps`'s fast path can build rows without
loading it."""

from __future__ import annotations


class GoStruct(dict[str, object]):
    """A dict whose keys are a Go struct's fields in declaration order (JSON as a dict)."""

    __slots__ = ()
