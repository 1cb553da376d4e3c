"""Container output through the json-file log: `logs`, `logs -f`, attached `run` and `up`
show every line while the log rotates (`logging: max-size`), and output without a newline
(a progress bar) reaches the log. Through the CLI as a user types it, on a private data root
with the busybox image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_project import (
    Project,
    project_on_private_root,
    wait_for,
)


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "logs")


# --- every line, however often the log rotates --------------------------------------------

CHATTY = """
services:
  chatty:
    image: busybox
    command:
      - sh
      - -c
      - "sleep 1; i=0; while [ $$i -lt {lines} ]; do echo line-$$i; i=$$((i+1)); done"
    logging:
      options: {{max-size: "20k", max-file: "200"}}
"""
LINES = 10000  # ~700 kB of json-file log: 35 rotations of 20 kB, all kept (max-file 200)


def _missing(output: str) -> list[int]:
    seen = {int(line.split("-", 1)[1]) for line in output.split() if line.startswith("line-")}
    return sorted(set(range(LINES)) - seen)


def test_logs_follow_shows_every_line_across_rotations(project: Project) -> None:
    """`logs -f` of a service with `max-size` lost a few hundred lines at each rotation (the
    follower reopens the log by name and only notices a rotation when the new file is
    shorter than its offset): 22% of the lines missing at 10k lines/s. No file was deleted
    here (max-file 200), so every line is still on disk; docker's follower drains the
    rotated file first."""
    project.write(CHATTY.format(lines=LINES))
    project.cli("up", "-d")
    follow = project.run("logs", "-f", "--no-log-prefix", "chatty", timeout=120)
    assert follow.returncode == 0, follow.stderr
    missing = _missing(follow.stdout)
    assert missing == [], f"{len(missing)} of {LINES} lines missing, first {missing[:5]}"


def test_attached_run_shows_every_line_with_log_rotation(project: Project) -> None:
    """`pycompose run --rm -T chatty` printed 630 of 10000 lines when the service has
    `logging: max-size: 20k` (with max-size 1m, a common setting: 17198 of 20000): the
    one-off's output is read back from the rotating log file. docker compose run attaches to
    the container's stream and prints all of it — a test suite reading a one-off's output
    got a truncated result."""
    project.write(CHATTY.format(lines=LINES))
    done = project.run("run", "--rm", "-T", "chatty", timeout=120)
    assert done.returncode == 0, done.stderr
    missing = _missing(done.stdout)
    assert missing == [], f"{len(missing)} of {LINES} lines missing, first {missing[:5]}"


def test_attached_up_shows_every_line_with_log_rotation(project: Project) -> None:
    """An attached `up` (here with --abort-on-container-exit) printed 1356 of 10000 lines of a
    service with `max-size: 20k`; docker compose up attaches to the streams."""
    project.write(CHATTY.format(lines=LINES))
    done = project.run("up", "--abort-on-container-exit", timeout=120)
    missing = _missing(done.stdout)
    assert missing == [], f"{len(missing)} of {LINES} lines missing, first {missing[:5]}"


# --- output without a newline ------------------------------------------------------------

PROGRESS = """
services:
  bar:
    image: busybox
    command:
      - sh
      - -c
      - "i=0; while [ $$i -le 20000 ]; do printf 'progress %d\\r' $$i; i=$$((i+1)); done; sleep 300"
    stop_grace_period: 0s
"""


def test_unterminated_output_reaches_the_log(project: Project) -> None:
    """A progress bar (`\\r`, no newline — curl, pip, a test runner's dots) never reached
    `logs`: the supervisor keeps an unterminated line in memory until its newline, re-copying
    the whole buffer on every read (`partial + data`): 100 MB without a newline held the
    supervisor at 100% CPU for over 45 s with nothing logged, and memory grows with the line.
    Docker's json-file logger cuts lines at 16 KiB (partial messages), so `logs` shows the
    output at once and a line never exceeds the buffer or max-size."""
    project.write(PROGRESS)
    project.cli("up", "-d")

    def shown() -> bool:
        return "progress 20000" in project.cli("logs", "--no-log-prefix", "bar")

    assert wait_for(shown, timeout=15, step=0.5), "unterminated output never reached logs"
