"""`--format` of the lists docker compose prints with its own formatter (`ls`, `images`).

Its rules, which scripts rely on: `table` (also `pretty`, or empty; any case) is an aligned
table whose columns are at least 20 wide with 3 spaces between them (Go's tabwriter as
compose sets it up); `json` is the whole list as one JSON array on one line; `{{json .}}`
is one object per line; anything else is refused with compose's own words.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Sequence

MIN_WIDTH = 20  # tabwriter.NewWriter(out, 20, 1, 3, ' ', 0) in compose's PrintPrettySection
PADDING = 3
LEGACY_JSON = "{{json .}}"


class FormatError(ValueError):
    """A --format value compose cannot parse."""


def pretty_section(
    headers: Sequence[str], cells: Sequence[Sequence[str]], min_width: int = MIN_WIDTH
) -> str:
    """Go tabwriter's layout: every column but the last padded to the widest cell plus 3, at
    least `min_width`; the last column as it is."""
    rows = [list(headers), *(list(r) for r in cells)]
    widths = [
        max(min_width, max(len(r[i]) for r in rows) + PADDING) for i in range(len(headers) - 1)
    ]
    lines = []
    for r in rows:
        lines.append("".join(c.ljust(widths[i]) for i, c in enumerate(r[:-1])) + r[-1])
    return "\n".join(lines) + "\n"


def go_json(value: object) -> str:
    """Go's json.Encoder without HTML escaping: compact, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render_list(
    rows: Sequence[dict[str, object]] | None,
    fmt: str,
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
) -> str:
    """The text compose prints for `rows` (`None`: Go's nil slice, `null` in JSON); `cells`
    are the table's rows, already in the table's order and wording."""
    kind = fmt.lower()
    if kind in ("table", "pretty", ""):
        return pretty_section(headers, cells)
    if kind == "json":
        return go_json(None if rows is None else list(rows)) + "\n"
    if fmt == LEGACY_JSON:
        return "".join(go_json(r) + "\n" for r in rows or ())
    raise FormatError(f'format value "{fmt}" could not be parsed: parsing failed')
