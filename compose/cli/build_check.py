"""`build --check`'s report, as buildx prints a check's result: a count, then each warning
with its rule, URL, message and the Dockerfile lines it is about."""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from engine.api import CheckWarning, DockerfileCheck

RULER = "-" * 20


def _snippet(name: str, lines: list[str], warning: CheckWarning) -> str:
    """BuildKit's source excerpt: the warned lines marked `>>>`, with context around them
    (four lines for a one-line warning, two otherwise, split between before and after)."""
    start, end = warning.line, min(warning.end_line, len(lines))
    first, last = start, end
    pad = 4 if start == end else 2
    taken = 0
    while taken < pad:
        if first > 1:
            first -= 1
            taken += 1
        if last < len(lines):
            last += 1
            taken += 1
        taken += 1
    out = [f"{name}:{start}", RULER]
    for number in range(first, last + 1):
        marker = ">>>" if start <= number <= end else "   "
        out.append(f" {number:3d} | {marker} {lines[number - 1]}")
    out.append(RULER)
    return "\n".join(out) + "\n"


def report(check: DockerfileCheck, name: str) -> str:
    """The whole report for one Dockerfile; `name` is how its lines are headed."""
    warnings = check.result.warnings
    if not warnings:
        return "Check complete, no warnings found.\n"
    count = "1 warning has" if len(warnings) == 1 else f"{len(warnings)} warnings have"
    out = [f"Check complete, {count} been found!\n"]
    lines = check.text.split("\n")
    for warning in warnings:
        out.append(f"\nWARNING: {warning.rule.value} - {warning.rule.url}\n{warning.detail}\n")
        out.append(_snippet(name, lines, warning))
    return "".join(out)


def failure(check: DockerfileCheck) -> str | None:
    """BuildKit's error when the Dockerfile's `# check=error=true` turns warnings into a
    failed check."""
    if not check.result.failed:
        return None
    rules = sorted({w.rule.value for w in check.result.warnings})
    return f"lint violation found for rules: {', '.join(rules)}"
