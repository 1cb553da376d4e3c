"""`events --since/--until` as a user of `docker compose events` uses them: the past replayed
from what the containers' records show, `--until` ending the command on its own, a bad
value refused by name."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

QUITTER = 'image: busybox\ncommand: ["sh", "-c", "exit 4"]\n'


def _events(stack: Stack, *flags: str) -> list[dict[str, object]]:
    out = stack.ok("events", "--json", *flags).stdout
    return [json.loads(line) for line in out.splitlines()]


def _wait_exited(stack: Stack, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and stack.states().get(name) != "exited":
        time.sleep(0.1)
    assert stack.states().get(name) == "exited"


def test_since_replays_the_recorded_past_and_until_now_returns(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "job": QUITTER})
    stack.ok("up", "-d")
    _wait_exited(stack, f"{stack.name}-job-1")
    stack.ok("stop", "db")
    began = time.monotonic()
    past = _events(stack, "--since", "1m", "--until", "0s")
    assert time.monotonic() - began < 10  # --until in the past: no live stream
    seen = [(e["service"], e["action"]) for e in past]
    assert [s for s in seen if s[0] == "db"] == [
        ("db", "create"), ("db", "start"), ("db", "die"), ("db", "stop"),
    ]
    assert [s for s in seen if s[0] == "job"] == [
        ("job", "create"), ("job", "start"), ("job", "die"),
    ]
    die = next(e for e in past if e["action"] == "die" and e["service"] == "job")
    assert die["attributes"]["exitCode"] == "4"  # type: ignore[index]
    times = [str(e["time"]) for e in past]
    assert times == sorted(times)
    assert _events(stack, "--since", "1m", "--until", "0s", "job") == [
        e for e in past if e["service"] == "job"
    ]
    # a window after all of it is empty; one before the stack was made too
    assert _events(stack, "--since", "-1s", "--until", "-1s") == []
    assert _events(stack, "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02") == []


def test_until_streams_live_events_then_ends_by_itself(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    end = (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    watcher = subprocess.Popen(
        ["pycompose", "-p", stack.name, "events", "--json", "--until", end],
        cwd=stack.directory, env=env, stdout=subprocess.PIPE, text=True,
    )
    time.sleep(1.5)
    stack.ok("stop", "db")
    out, _ = watcher.communicate(timeout=20)  # returns at --until, without a signal
    assert watcher.returncode == 0
    actions = [json.loads(line)["action"] for line in out.splitlines()]
    # with --until alone, docker replays the past too, then streams until that time
    assert actions[:2] == ["create", "start"]
    assert actions[2:] == ["kill", "die", "stop"] or actions[2:] == ["kill", "kill", "die", "stop"]


def test_a_bad_time_is_refused_by_name(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    bad = stack.cli("events", "--since", "yesterday")
    assert bad.returncode == 1
    assert "invalid value for since: 'yesterday'" in bad.stderr
    assert "Traceback" not in bad.stderr
