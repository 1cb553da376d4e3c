"""`events --json` reports each container's life in Docker's order, as a user watching
`docker compose events` sees it: restart is kill, die, stop, start, restart; kill is kill, die;
a restart policy is die (with the exit code), start; down is kill, die, stop, destroy — with
timestamps that never go back."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

CRASHER = (
    'image: busybox\ncommand: ["sh", "-c", "sleep 0.3; exit 3"]\nrestart: "on-failure:2"\n'
)


def _watch(stack: Stack, seconds: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    return subprocess.Popen(
        ["pycompose", "-p", stack.name, "events", "--json", "--until-seconds", str(seconds)],
        cwd=stack.directory,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_exited(stack: Stack, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and stack.states().get(name) != "exited":
        time.sleep(0.1)
    assert stack.states().get(name) == "exited", stack.states()


def test_restart_kill_policy_and_down_sequences(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER, "crash": CRASHER})
    watcher = _watch(stack, 14)
    time.sleep(1.5)  # the watcher has taken its first look
    stack.ok("up", "-d")
    _wait_exited(stack, f"{stack.name}-crash-1")  # three runs, two restarts by the policy
    stack.ok("restart", "-t", "0", "db")
    stack.ok("kill", "web")
    time.sleep(0.5)
    stack.ok("down", "-t", "0")
    out, _ = watcher.communicate(timeout=60)
    events = [json.loads(line) for line in out.splitlines()]

    def actions(service: str) -> list[str]:
        return [e["action"] for e in events if e["service"] == service]

    # stop of `sleep` as pid 1 with a 0 s grace: SIGTERM is ignored, SIGKILL follows
    assert actions("db") == [
        "create", "start",
        "kill", "kill", "die", "stop", "start", "restart",  # restart
        "kill", "kill", "die", "stop", "destroy",  # down
    ], actions("db")
    assert actions("web") == ["create", "start", "kill", "die", "destroy"], actions("web")
    assert actions("crash") == [
        "create", "start", "die", "start", "die", "start", "die", "destroy"
    ], actions("crash")
    codes = [e["attributes"].get("exitCode") for e in events
             if e["service"] == "crash" and e["action"] == "die"]
    assert codes == ["3", "3", "3"]
    web_kill = next(e for e in events if e["service"] == "web" and e["action"] == "kill")
    assert web_kill["attributes"]["signal"] == "9"
    times = [_instant(e["time"]) for e in events]
    assert times == sorted(times)


def _instant(stamp: str) -> tuple[str, str]:
    """An event's RFC 3339 time, comparable: its fraction trims trailing zeros (Go's
    RFC3339Nano, as docker's), so `.7326Z` is after `.732697Z` as text but before it in time."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return whole, fraction.ljust(9, "0")


def test_up_warns_about_orphans_in_docker_compose_words(stack: Stack) -> None:
    stack.write({"web": SLEEPER, "old": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("run", "--no-deps", "web", "true")  # an exited one-off container is an orphan too
    stack.write({"web": SLEEPER})
    again = stack.ok("up", "-d")
    oneoff = next(n for n in stack.states() if "-web-run-" in n)
    assert (
        f"WARN[0000] Found orphan containers ([{stack.name}-old-1 {oneoff}]) for this project. "
        "If you removed or renamed this service in your compose file, you can run this command "
        "with the --remove-orphans flag to clean it up.\n"
    ) in again.stderr
    assert set(stack.states()) == {f"{stack.name}-web-1", f"{stack.name}-old-1", oneoff}
    cleaned = stack.ok("up", "-d", "--remove-orphans")
    assert "orphan" not in cleaned.stderr
    assert set(stack.states()) == {f"{stack.name}-web-1"}


def test_an_oom_kill_is_an_oom_event(stack: Stack) -> None:
    """Docker's `oom`: a child killed by the kernel for the memory limit while pid 1 goes on
    is `oom` alone; pid 1 killed so is `oom` then `die` (exit code 137)."""
    child = (  # `tail /dev/zero` buffers its input without end: the kernel kills it
        'image: busybox\ncommand: ["sh", "-c", "sleep 1; tail /dev/zero; sleep 300"]\n'
        "mem_limit: 16m\nmemswap_limit: 16m\nstop_grace_period: 0s\n"
    )
    pid1 = 'image: busybox\ncommand: ["sh", "-c", "sleep 1; exec tail /dev/zero"]\n'
    stack.write({"child": child, "pid1": pid1 + "mem_limit: 16m\nmemswap_limit: 16m\n"})
    watcher = _watch(stack, 10)
    time.sleep(1.5)  # the watcher has taken its first look
    stack.ok("up", "-d")
    _wait_exited(stack, f"{stack.name}-pid1-1")
    out, _ = watcher.communicate(timeout=60)
    events = [json.loads(line) for line in out.splitlines()]

    def actions(service: str) -> list[str]:
        return [e["action"] for e in events if e["service"] == service]

    assert actions("child") == ["create", "start", "oom"], events
    assert actions("pid1") == ["create", "start", "oom", "die"], events
    die = next(e for e in events if e["service"] == "pid1" and e["action"] == "die")
    assert die["attributes"]["exitCode"] == "137"
    stack.ok("down", "-t", "0")
