"""Orchestration as a user types it: convergence, scaling, orphans, dependency conditions,
failures named, `--exit-code-from`, interrupted `up` converging, `run --rm` leaving nothing.

Long-running services use `stop_grace_period: 0s` (busybox sleep as pid 1 ignores SIGTERM).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_cli

SLEEPER = 'image: busybox\ncommand: ["sleep", "300"]\nstop_grace_period: 0s\n'


@pytest.fixture
def root(tmp_path: Path, busybox_tarball: Path) -> Path:
    data_root = tmp_path / "root"
    result = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=data_root
    )
    assert result.returncode == 0, result.stderr
    return data_root


class Stack:
    """A stack file in its own directory under a unique project name, always torn down."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root
        self.name = f"orch{uuid.uuid4().hex[:8]}"

    def write(self, services: dict[str, str], extra: str = "") -> None:
        body = "services:\n" + "".join(
            f"  {name}:\n" + textwrap.indent(text.strip("\n"), "    ") + "\n"
            for name, text in services.items()
        )
        (self.directory / "compose.yaml").write_text(body + textwrap.dedent(extra))

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_cli(
            ["-p", self.name, "--progress", "plain", *args],
            cwd=self.directory,
            root=self.root,
            timeout=timeout,
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.cli(*args)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def rows(self) -> list[dict[str, object]]:
        out = self.ok("ps", "-a", "--format", "json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def ids(self) -> dict[str, str]:
        return {str(r["Name"]): str(r["ID"]) for r in self.rows()}

    def states(self) -> dict[str, str]:
        return {str(r["Name"]): str(r["State"]) for r in self.rows()}


@pytest.fixture
def stack(tmp_path: Path, root: Path):
    directory = tmp_path / "stack"
    directory.mkdir()
    made = Stack(directory, root)
    yield made
    made.cli("down", "-v", "-t", "0", "--remove-orphans")


def engine_leftovers(root: Path, project: str) -> list[str]:
    """Containers and networks of `project` the engine still knows about."""
    from engine.api import Engine

    engine = Engine(root)
    names = [c.name for c in engine.list_containers({"com.docker.compose.project": project})]
    names += [
        n.name
        for n in engine.networks.list_networks()
        if n.labels.get("com.docker.compose.project") == project
    ]
    return names


def test_rerun_touches_nothing_and_an_environment_change_recreates_only_that_service(
    stack: Stack,
) -> None:
    services = {
        "db": SLEEPER + "environment: {LEVEL: '1'}\n",
        "web": SLEEPER + "depends_on: [db]\n",
        "worker": SLEEPER,
    }
    stack.write(services)
    stack.ok("up", "-d")
    before = stack.ids()
    assert set(before) == {f"{stack.name}-{s}-1" for s in services}
    again = stack.ok("up", "-d")
    assert stack.ids() == before
    assert "Created" not in again.stderr and "Recreate" not in again.stderr
    assert again.stderr.count("Running") == 3
    services["db"] = services["db"].replace("'1'", "'2'")
    stack.write(services)
    changed = stack.ok("up", "-d")
    after = stack.ids()
    assert after[f"{stack.name}-db-1"] != before[f"{stack.name}-db-1"]
    assert after[f"{stack.name}-web-1"] == before[f"{stack.name}-web-1"]
    assert after[f"{stack.name}-worker-1"] == before[f"{stack.name}-worker-1"]
    assert f"Container {stack.name}-db-1  Recreated" in changed.stderr
    assert set(stack.states().values()) == {"running"}


def test_scale_to_three_and_back_to_one_keeps_the_first(stack: Stack) -> None:
    stack.write({"worker": SLEEPER})
    stack.ok("up", "-d", "--scale", "worker=3")
    ids = stack.ids()
    assert sorted(ids) == [f"{stack.name}-worker-{n}" for n in (1, 2, 3)]
    assert set(stack.states().values()) == {"running"}
    stack.ok("up", "-d", "--scale", "worker=1")
    assert stack.ids() == {f"{stack.name}-worker-1": ids[f"{stack.name}-worker-1"]}


def test_orphans_are_reported_then_removed_with_remove_orphans(stack: Stack) -> None:
    stack.write({"keep": SLEEPER, "gone": SLEEPER})
    stack.ok("up", "-d")
    stack.write({"keep": SLEEPER})
    warned = stack.ok("up", "-d")
    assert "Found orphan containers" in warned.stderr and f"{stack.name}-gone-1" in warned.stderr
    assert f"{stack.name}-gone-1" in stack.ids()
    stack.ok("up", "-d", "--remove-orphans")
    assert set(stack.ids()) == {f"{stack.name}-keep-1"}


def _first_log_time(stack: Stack, service: str, last: bool = False) -> str:
    out = stack.ok("logs", "--timestamps", "--no-log-prefix", service).stdout.splitlines()
    stamps = [line.split()[0] for line in out if line.strip()]
    assert stamps, f"no logs for {service}"
    return stamps[-1] if last else stamps[0]


def test_completed_successfully_orders_the_start_and_unrelated_services_do_not_wait(
    stack: Stack,
) -> None:
    stack.write(
        {
            "migrate": 'image: busybox\ncommand: ["sh", "-c", "echo migrating; sleep 1; '
            'echo migrated"]\n',
            "app": 'image: busybox\ncommand: ["sh", "-c", "echo app up; exec sleep 300"]\n'
            "stop_grace_period: 0s\n"
            "depends_on:\n  migrate: {condition: service_completed_successfully}\n",
            "lone": 'image: busybox\ncommand: ["sh", "-c", "echo lone up; exec sleep 300"]\n'
            "stop_grace_period: 0s\n",
        }
    )
    stack.ok("up", "-d")
    migrated = _first_log_time(stack, "migrate", last=True)
    assert _first_log_time(stack, "app") > migrated
    assert _first_log_time(stack, "lone") < migrated, "lone waited for an unrelated one-shot"
    states = stack.states()
    assert states[f"{stack.name}-migrate-1"] == "exited"
    assert states[f"{stack.name}-app-1"] == "running"


def test_service_healthy_waits_for_the_healthcheck(stack: Stack) -> None:
    stack.write(
        {
            "db": 'image: busybox\ncommand: ["sh", "-c", "sleep 1; touch /tmp/ready; '
            'echo db ready; exec sleep 300"]\nstop_grace_period: 0s\n'
            "healthcheck:\n  test: [CMD, test, -f, /tmp/ready]\n  interval: 1s\n"
            "  start_period: 10s\n  start_interval: 0.2s\n",
            "web": 'image: busybox\ncommand: ["sh", "-c", "echo web up; exec sleep 300"]\n'
            "stop_grace_period: 0s\n"
            "depends_on:\n  db: {condition: service_healthy}\n",
        }
    )
    result = stack.cli("up", "-d")
    assert result.returncode == 0, result.stderr
    assert _first_log_time(stack, "web") > _first_log_time(stack, "db", last=True)


def test_a_failing_dependency_is_named_and_independent_services_start(stack: Stack) -> None:
    stack.write(
        {
            "init": 'image: busybox\ncommand: ["sh", "-c", "echo broken; exit 3"]\n',
            "app": SLEEPER + "depends_on:\n  init: {condition: service_completed_successfully}\n",
            "lone": SLEEPER,
        }
    )
    result = stack.cli("up", "-d")
    assert result.returncode == 1
    assert "service app: dependency init failed" in result.stderr
    assert 'service "init" didn\'t complete successfully: exit 3' in result.stderr
    assert "hint: see `pycompose logs init`" in result.stderr  # it ran: its output says why
    assert "Traceback" not in result.stderr
    states = stack.states()
    assert f"{stack.name}-app-1" not in states
    assert states[f"{stack.name}-lone-1"] == "running"


@pytest.mark.parametrize(
    ("bad", "commands"),
    [("working_dir: relative\n", [("up", "-d")]),
     ("user: nosuchuser\n", [("up", "-d"), ("start", "web")])],
    ids=["create", "start"])
def test_a_container_refused_at_create_or_start_gets_no_hint_to_read_its_logs(
    stack: Stack, bad: str, commands: list[tuple[str, ...]]
) -> None:
    """A service whose settings the engine refuses never ran: it has no output, so the
    error must not send the user to `logs` (it names the setting instead)."""
    stack.write({"web": SLEEPER + bad, "app": SLEEPER + "depends_on: [web]\n"})
    for args in commands:
        result = stack.cli(*args)
        assert result.returncode == 1
        assert "service web: container" in result.stderr, result.stderr
        assert "hint:" not in result.stderr and "logs" not in result.stderr, result.stderr


def test_exit_code_from_passes_the_code_through_and_stops_the_rest(stack: Stack) -> None:
    stack.write(
        {
            "server": SLEEPER,
            "tester": 'image: busybox\ncommand: ["sh", "-c", "echo testing; sleep 0.3; exit 7"]\n'
            "depends_on: [server]\n",
        }
    )
    result = stack.cli("up", "--exit-code-from", "tester", "-t", "0", timeout=60)
    assert result.returncode == 7, result.stderr
    assert "testing" in result.stdout
    assert "Aborting on container exit" in result.stderr
    assert set(stack.states().values()) == {"exited"}


def test_abort_on_container_exit_and_attached_output(stack: Stack) -> None:
    stack.write(
        {
            "server": SLEEPER,
            "once": 'image: busybox\ncommand: ["sh", "-c", "echo done-once"]\n',
        }
    )
    result = stack.cli("up", "--abort-on-container-exit", "-t", "0", "--no-color", timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^once-1 +\| done-once$", result.stdout, re.M), result.stdout
    assert "once-1 exited with code 0" in result.stdout
    # Again: the same containers run again, and only this run's output is shown (their logs
    # keep both runs' lines), as docker compose attaches without replaying history.
    again = stack.cli("up", "--abort-on-container-exit", "-t", "0", "--no-color", timeout=60)
    assert again.returncode == 0, again.stderr
    assert len(re.findall(r"^once-1 +\| done-once$", again.stdout, re.M)) == 1, again.stdout
    assert stack.ok("logs", "once").stdout.count("done-once") == 2


def test_run_rm_streams_output_returns_the_code_and_leaves_nothing(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "tool": "image: busybox\ndepends_on: [db]\n"})
    result = stack.cli(
        "run", "--rm", "-e", "GREETING=hi", "tool", "sh", "-c", 'echo "$GREETING"; exit 4'
    )
    assert result.returncode == 4, result.stderr
    assert result.stdout.strip() == "hi"
    from engine.api import Engine

    oneoffs = [
        c.name
        for c in Engine(stack.root).list_containers({"com.docker.compose.project": stack.name})
        if c.labels.get("com.docker.compose.oneoff") == "True"
    ]
    assert oneoffs == []
    assert stack.states() == {f"{stack.name}-db-1": "running"}  # dependency started
    detached = stack.ok("run", "-d", "--no-deps", "tool", "sleep", "300").stdout.strip()
    assert detached.startswith(f"{stack.name}-tool-run-")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_interrupted_up_converges_on_rerun_and_down_leaves_nothing(stack: Stack, how: str) -> None:
    stack.write({f"s{i}": SLEEPER + ("depends_on: [s0]\n" if i else "") for i in range(6)})
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    process = subprocess.Popen(
        ["pycompose", "-p", stack.name, "--progress", "plain", "up", "-d"],
        cwd=stack.directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # interrupt once the first container is being made
    deadline = time.monotonic() + 30
    assert process.stderr is not None
    for line in process.stderr:
        if ("Creating" in line and "Container" in line) or time.monotonic() > deadline:
            break
    process.send_signal(getattr(signal, how))
    process.communicate(timeout=60)
    if how != "SIGKILL":
        assert process.returncode == 130
    stack.ok("up", "-d")
    assert set(stack.states().values()) == {"running"}
    assert len(stack.states()) == 6
    stack.ok("down", "-t", "0")
    assert engine_leftovers(stack.root, stack.name) == []


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_interrupting_an_attached_up_while_it_starts_stops_what_started(
    stack: Stack, how: str
) -> None:
    """docker compose stops the stack on Ctrl-C from the start of an attached `up`, not only
    once it follows the logs: here while `web` waits for `db` to be healthy (it never is)."""
    never_healthy = 'healthcheck: {test: ["CMD", "false"], interval: 1s, retries: 60}\n'
    stack.write({
        "db": SLEEPER + never_healthy,
        "web": SLEEPER + "depends_on: {db: {condition: service_healthy}}\n",
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    process = subprocess.Popen(
        ["pycompose", "-p", stack.name, "--progress", "plain", "up"], cwd=stack.directory,
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    try:
        for _ in range(200):  # until db runs (web waits for it to be healthy)
            if stack.states().get(f"{stack.name}-db-1") == "running":
                break
            time.sleep(0.05)
        process.send_signal(getattr(signal, how))
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Gracefully stopping" in err
    assert "running" not in stack.states().values(), stack.states()


def test_down_after_partial_up_leaves_nothing(stack: Stack) -> None:
    stack.write(
        {
            "bad": 'image: busybox\ncommand: ["/no/such/binary"]\n',
            "good": SLEEPER + "depends_on: [bad]\n",
        }
    )
    assert stack.cli("up", "-d").returncode == 1
    stack.ok("down", "-t", "0")
    assert engine_leftovers(stack.root, stack.name) == []


def test_restart_true_dependent_is_restarted_when_its_dependency_is_recreated(
    stack: Stack,
) -> None:
    services = {
        "db": SLEEPER + "environment: {V: '1'}\n",
        "app": SLEEPER + "depends_on:\n  db: {condition: service_started, restart: true}\n",
        "plain": SLEEPER + "depends_on: [db]\n",
    }
    stack.write(services)
    stack.ok("up", "-d")
    before = stack.ids()
    services["db"] = services["db"].replace("'1'", "'2'")
    stack.write(services)
    changed = stack.ok("up", "-d")
    after = stack.ids()
    assert after[f"{stack.name}-db-1"] != before[f"{stack.name}-db-1"]
    assert after[f"{stack.name}-app-1"] == before[f"{stack.name}-app-1"]
    assert f"Container {stack.name}-app-1  Restarted" in changed.stderr
    assert f"{stack.name}-plain-1  Restarted" not in changed.stderr
    assert set(stack.states().values()) == {"running"}


def test_no_start_no_deps_and_wait(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER + "depends_on: [db]\n"})
    stack.ok("up", "--no-start")
    assert set(stack.states().values()) == {"created"}
    stack.ok("up", "-d", "--no-deps", "web")
    states = stack.states()
    assert states[f"{stack.name}-web-1"] == "running"
    assert states[f"{stack.name}-db-1"] == "created"
    stack.ok("up", "--wait", "--wait-timeout", "20")
    assert set(stack.states().values()) == {"running"}
    stack.write({"db": SLEEPER, "web": SLEEPER, "dies": 'image: busybox\ncommand: ["false"]\n'})
    failed = stack.cli("up", "--wait", "--wait-timeout", "20")
    assert failed.returncode == 1
    assert "service dies:" in failed.stderr and "exited (1)" in failed.stderr


def test_attach_filters_prefix_and_timestamps(stack: Stack) -> None:
    stack.write(
        {
            "one": 'image: busybox\ncommand: ["sh", "-c", "echo from-one"]\n',
            "two": 'image: busybox\ncommand: ["sh", "-c", "echo from-two"]\n',
        }
    )
    result = stack.cli("up", "--no-attach", "two", "--no-log-prefix", "--timestamps", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "from-two" not in result.stdout
    line = next(ln for ln in result.stdout.splitlines() if "from-one" in ln)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z from-one", line), line
    only = stack.cli("up", "--attach", "two", "--no-color", timeout=60)
    assert re.search(r"^two-1 +\| from-two$", only.stdout, re.M) and "from-one" not in only.stdout


def test_anonymous_volume_survives_recreate_and_goes_with_down_v(stack: Stack) -> None:
    from engine.api import Engine

    services = {
        "db": 'image: busybox\ncommand: ["sh", "-c", "date >> /data/boots; exec sleep 300"]\n'
        "stop_grace_period: 0s\nvolumes: [/data]\nenvironment: {V: '1'}\n"
    }
    stack.write(services)
    stack.ok("up", "-d")
    services["db"] = services["db"].replace("'1'", "'2'")
    stack.write(services)
    stack.ok("up", "-d")
    out = stack.ok("exec", "-T", "db", "cat", "/data/boots").stdout
    assert len(out.splitlines()) == 2, "the anonymous volume's data was lost on recreate"
    engine = Engine(stack.root)
    anonymous = [
        v.name
        for v in engine.volumes.list()
        if v.labels.get("com.docker.compose.volume.anonymous") == "True"
    ]
    assert len(anonymous) == 1 and len(anonymous[0]) == 64
    ran = stack.cli("run", "--rm", "db", "sh", "-c", "ls /data")
    assert ran.returncode == 0, ran.stderr
    assert (
        len(
            [
                v
                for v in engine.volumes.list()
                if v.labels.get("com.docker.compose.volume.anonymous")
            ]
        )
        == 1
    ), "run --rm left its anonymous volume"
    stack.ok("down", "-v", "-t", "0")
    assert engine.volumes.list() == []
