"""Show the orchestration's progress events: a live view on a terminal (rich), plain lines for
logs and pipes, JSON lines for tools, or nothing.

The live view keeps one line per resource (container, network, volume) that moves through
Creating → Created → Starting → Started → Waiting → Healthy/Exited, with its elapsed time and,
on failure, the error in place — docker compose's `[+] Running 3/3` view. Rendering terminals is a
solved problem: `rich` (already installed with typer) does the live redraw, so we only keep state.
"""

from __future__ import annotations

import enum
import json
import sys
import threading
import time
from dataclasses import dataclass

from compose.errors import ComposeError
from compose.events import Event, Phase

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any, TextIO

_ERROR_PHASES = frozenset({Phase.ERROR})
_DONE_GLYPH = "✔"
_FAIL_GLYPH = "✘"


class ProgressMode(enum.Enum):
    AUTO = "auto"
    TTY = "tty"
    PLAIN = "plain"
    JSON = "json"
    QUIET = "quiet"


def progress_mode(text: str | None) -> ProgressMode:
    try:
        return ProgressMode((text or "auto").lower())
    except ValueError:
        choices = ", ".join(m.value for m in ProgressMode)
        raise ComposeError(f"invalid --progress value {text!r} (use one of {choices})") from None


# Before each resource line of a --dry-run, as docker compose marks them.
DRY_RUN_PREFIX = "DRY-RUN MODE - "


class Progress:
    """A Reporter (call it with events) that must be closed before other output."""

    # DRY_RUN_PREFIX under --dry-run: every line says that nothing was done
    prefix = ""

    def __call__(self, event: Event) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Stop redrawing; idempotent."""


class QuietProgress(Progress):
    def __call__(self, event: Event) -> None:
        if event.phase is Phase.WARNING:
            print(f"WARN[0000] {event.detail}", file=sys.stderr)


def _label(event: Event) -> str:
    return f"{event.kind.value} {event.name}".strip()


class PlainProgress(Progress):
    """docker compose's non-TTY lines: ` Container demo-web-1  Started`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            if event.phase is Phase.WARNING:
                print(f"WARN[0000] {event.detail}", file=self.stream, flush=True)
                return
            detail = f" {event.detail}" if event.detail else ""
            label = self.prefix + _label(event)
            print(f" {label}  {event.phase.value}{detail}", file=self.stream, flush=True)


class JsonProgress(Progress):
    """One JSON object per event (stderr), for tools that follow an `up`.

    docker compose's `--progress json` writes `{"id": "Container x", "text": "Started"}`:
    `id` and `text` mean the same here; `status` repeats the phase (pycompose's first format),
    `details` carries the error or reason, plus `kind`, `name` and `elapsed` seconds."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def __call__(self, event: Event) -> None:
        record: dict[str, Any] = {
            "id": _label(event),
            "kind": event.kind.value,
            "name": event.name,
            "text": event.phase.value,
            "status": event.phase.value,
            "details": event.detail,
            "elapsed": round(time.monotonic() - self.started, 3),
        }
        if event.phase is Phase.ERROR:
            record["error"] = True
        if self.prefix:
            record["dry-run"] = True  # docker compose's jsonMessage field
        with self.lock:
            print(json.dumps(record), file=self.stream, flush=True)


@dataclass
class _Line:
    """A resource's line between redraws: mutable because each event for its label updates it,
    and `started`/`ended` give the elapsed time shown."""

    label: str
    phase: Phase
    detail: str
    started: float
    ended: float | None = None


class TtyProgress(Progress):
    """A live view redrawn in place by rich; one line per resource."""

    def __init__(self, title: str = "Running", stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.title = title
        self.lines: dict[str, _Line] = {}
        self.lock = threading.Lock()
        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.live = Live(
            get_renderable=self._render,
            console=self.console,
            refresh_per_second=10,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=True,  # build/pull lines printed meanwhile go above the view
        )
        self.live.start()
        self.closed = False

    def __call__(self, event: Event) -> None:
        now = time.monotonic()
        with self.lock:
            if event.phase is Phase.WARNING:
                self.live.console.print(f"[yellow]WARN[/yellow] {event.detail}")
                return
            label = self.prefix + _label(event)
            line = self.lines.get(label)
            if line is None or (line.ended is not None and not event.phase.is_final):
                line = self.lines[label] = _Line(label, event.phase, event.detail, now)
            line.phase, line.detail = event.phase, event.detail
            line.ended = now if event.phase.is_final else None

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self.lock:
            lines = list(self.lines.values())
        finished = sum(1 for line in lines if line.ended is not None)
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column()
        table.add_column()
        table.add_column(justify="right")
        header = Text(f"[+] {self.title} {finished}/{len(lines)}", style="bold")
        spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[int(now * 10) % 10]
        for line in lines:
            failed = line.phase in _ERROR_PHASES or line.phase is Phase.SKIPPED
            if failed:
                glyph, style = _FAIL_GLYPH, "red"
            elif line.ended is not None:
                glyph, style = _DONE_GLYPH, "green"
            else:
                glyph, style = spinner, "blue"
            elapsed = (line.ended or now) - line.started
            status = line.phase.value + (f" {line.detail}" if line.detail else "")
            table.add_row(
                Text(glyph, style=style),
                Text(line.label),
                Text(status, style="red" if failed else style),
                Text(f"{elapsed:.1f}s", style="dim"),
            )
        from rich.console import Group

        return Group(header, table)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.live.refresh()
        self.live.stop()
        if not self.console.is_terminal:
            # rich ends the view with a newline only on a terminal: `--progress tty` into a
            # pipe or file would glue the next output onto its last line
            self.console.line()


def make_progress(mode: ProgressMode, title: str = "Running", dry_run: bool = False) -> Progress:
    """The reporter for a command; AUTO picks the live view only on a terminal."""
    view = _view(mode, title)
    if dry_run:
        view.prefix = DRY_RUN_PREFIX
    return view


def _view(mode: ProgressMode, title: str) -> Progress:
    if mode is ProgressMode.AUTO:
        mode = ProgressMode.TTY if sys.stderr.isatty() else ProgressMode.PLAIN
    if mode is ProgressMode.TTY:
        return TtyProgress(title)
    if mode is ProgressMode.JSON:
        return JsonProgress()
    if mode is ProgressMode.QUIET:
        return QuietProgress()
    return PlainProgress()
