"""`events` shows Docker's `attach` where a docker compose user sees it: an attached `up`
attaches to each container it follows before starting it (create, attach, start), `attach`
to a running one adds one; `--since` replays them; a one-off's are left out, as compose's."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

SAYER = 'image: busybox\ncommand: ["sh", "-c", "sleep 0.5; echo said"]\n'


def _events(stack: Stack, *flags: str) -> list[dict[str, object]]:
    out = stack.ok("events", "--json", *flags).stdout
    return [json.loads(line) for line in out.splitlines()]


def _watch(stack: Stack, seconds: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    return subprocess.Popen(
        ["pycompose", "-p", stack.name, "events", "--json", "--until-seconds", str(seconds)],
        cwd=stack.directory, env=env, stdout=subprocess.PIPE, text=True,
    )


def _attach_briefly(stack: Stack, service: str) -> None:
    """`attach --no-stdin --no-sig-proxy` for a moment, ended as a user's SIGTERM ends it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    client = subprocess.Popen(
        ["pycompose", "-p", stack.name, "attach", "--no-stdin", "--no-sig-proxy", service],
        cwd=stack.directory, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
    finally:
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=10)


def test_attached_up_and_attach_show_attach_events(stack: Stack) -> None:
    stack.write({"say": SAYER, "db": SLEEPER})
    stack.ok("up", "-d", "db")
    watcher = _watch(stack, 10)
    time.sleep(1.5)  # the watcher has taken its first look
    result = stack.ok("up", "say")  # attached: follows `say` until it exits
    assert "said" in result.stdout
    _attach_briefly(stack, "db")
    stack.ok("run", "--rm", "-T", "db", "true")  # a one-off: compose's events leave it out
    out, _ = watcher.communicate(timeout=60)
    live = [json.loads(line) for line in out.splitlines()]

    def actions(events: list[dict[str, object]], service: str) -> list[str]:
        return [str(e["action"]) for e in events if e["service"] == service]

    assert actions(live, "say") == ["create", "attach", "start", "die"], live
    assert actions(live, "db") == ["attach"], live
    assert all(e["service"] in ("say", "db") for e in live), live
    attach = next(e for e in live if e["action"] == "attach")
    assert attach["attributes"]["name"] == f"{stack.name}-say-1"  # type: ignore[index]
    past = _events(stack, "--since", "1m", "--until", "0s")
    assert actions(past, "say") == ["create", "attach", "start", "die"], past
    assert actions(past, "db") == ["create", "start", "attach"], past
