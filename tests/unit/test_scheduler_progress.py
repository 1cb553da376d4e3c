"""Progress views (plain, json, tty, quiet) and the events diff: what a user sees of a walk."""

from __future__ import annotations

import io
import json
import re

import pytest

from compose.errors import ComposeError
from compose.events import Event, Phase, ResourceKind
from compose.progress import (
    JsonProgress,
    PlainProgress,
    ProgressMode,
    TtyProgress,
    progress_mode,
)

C = ResourceKind.CONTAINER


def test_progress_mode_parsing() -> None:
    assert progress_mode(None) is ProgressMode.AUTO
    assert progress_mode("PLAIN") is ProgressMode.PLAIN
    with pytest.raises(ComposeError, match="invalid --progress value 'fancy'"):
        progress_mode("fancy")


def test_plain_lines_match_docker_compose() -> None:
    out = io.StringIO()
    view = PlainProgress(out)
    view(Event(C, "demo-web-1", Phase.CREATING))
    view(Event(C, "demo-web-1", Phase.ERROR, "boom"))
    view(Event(C, "x", Phase.WARNING, "orphans"))
    assert out.getvalue().splitlines() == [
        " Container demo-web-1  Creating",
        " Container demo-web-1  Error boom",
        "WARN[0000] orphans",
    ]


def test_a_bare_event_is_named_by_the_container_alone_as_cp_s() -> None:
    out = io.StringIO()
    view = PlainProgress(out)
    copy = "demo-web-1 copy ./f to demo-web-1:/tmp"
    view(Event(ResourceKind.BARE, copy, Phase.COPYING))
    view(Event(ResourceKind.BARE, copy, Phase.COPIED))
    assert out.getvalue().splitlines() == [f" {copy}  Copying", f" {copy}  Copied"]
    assert Phase.COPIED.is_final and not Phase.COPYING.is_final


def test_json_lines_carry_status_and_elapsed() -> None:
    out = io.StringIO()
    view = JsonProgress(out)
    view(Event(C, "demo-db-1", Phase.STARTED))
    record = json.loads(out.getvalue())
    assert record["id"] == "Container demo-db-1"
    assert record["status"] == "Started"
    assert record["elapsed"] >= 0


def test_tty_view_keeps_one_line_per_container_with_times_and_errors() -> None:
    out = io.StringIO()
    view = TtyProgress(stream=out)
    view.console.width = 100
    for phase in (Phase.CREATING, Phase.CREATED, Phase.STARTING, Phase.STARTED):
        view(Event(C, "demo-web-1", phase))
    view(Event(C, "demo-db-1", Phase.STARTING))
    view(Event(C, "demo-db-1", Phase.ERROR, "exec: no such file"))
    view(Event(C, "demo-job-1", Phase.WAITING))
    view.close()
    view.close()  # idempotent
    final = out.getvalue()
    last = final[final.rindex("[+]") :]
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in last.splitlines() if ln.strip()]
    assert lines[0] == "[+] Running 2/3"
    assert re.match(r"✔ Container demo-web-1 Started \d+\.\ds", lines[1])
    assert re.match(r"✘ Container demo-db-1 Error exec: no such file \d+\.\ds", lines[2])
    assert "Container demo-job-1 Waiting" in lines[3]
    assert len(lines) == 4


def test_events_diff_reports_create_start_die_destroy_and_health() -> None:
    from compose.cli.misc_cmds import _changes as changes_with_attributes

    def _changes(before: dict, after: dict) -> list:  # type: ignore[type-arg]
        return [(action, info) for action, info, _ in changes_with_attributes(before, after)]

    info = object()
    before = {"a": ("running", "starting", "t0", info), "b": ("running", None, "t0", info)}
    after = {"a": ("running", "healthy", "t0", info), "c": ("running", None, "t1", info)}
    assert list(_changes(before, after)) == [
        ("health_status: healthy", info),
        ("create", info),
        ("start", info),
        ("die", info),  # b was running when it went: it died before it was destroyed
        ("destroy", info),
    ]
    assert list(_changes(after, {**after, "c": ("exited", None, "t1", info)})) == [("die", info)]
    # restarted between two looks: it died and started again
    again = {**after, "c": ("running", None, "t2", info)}
    assert list(_changes(after, again)) == [("die", info), ("start", info)]
