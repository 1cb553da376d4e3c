"""The end of the run `attach` joined: the first run ended since (Docker's attach is to one
run), found in the engine's count of ended runs and their last exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from compose.cli.attached_run import RunEnd, ended_run
from engine.api import ContainerStatus


@dataclass
class _State:
    status: ContainerStatus = ContainerStatus.RUNNING
    die_count: int = 2
    recent_exit_codes: list[int] = field(default_factory=lambda: [1, 0])
    exit_code: int | None = 0
    finished_at: str | None = "2026-12-02T06:00:00.000000Z"


def _joined(state: _State) -> Any:
    return SimpleNamespace(state=state)


def test_the_run_goes_on_until_one_more_ended() -> None:
    assert ended_run(_joined(_State()), _State()) is None


def test_a_restart_policy_restart_ends_it_with_that_runs_exit_code() -> None:
    now = _State(status=ContainerStatus.RUNNING, die_count=3, recent_exit_codes=[1, 0, 3],
                 exit_code=3, finished_at="2026-12-02T06:00:05.000000Z")
    assert ended_run(_joined(_State()), now) == RunEnd(3, "2026-12-02T06:00:05.000000Z")


def test_after_several_restarts_it_is_the_first_runs_code_and_no_time() -> None:
    now = _State(die_count=4, recent_exit_codes=[1, 0, 3, 9], exit_code=9)
    assert ended_run(_joined(_State()), now) == RunEnd(3, None)


def test_an_uncounted_end_is_the_last_code_known() -> None:
    now = _State(status=ContainerStatus.EXITED, exit_code=255)
    assert ended_run(_joined(_State()), now) == RunEnd(255, "2026-12-02T06:00:00.000000Z")
