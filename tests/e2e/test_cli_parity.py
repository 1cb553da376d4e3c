"""The CLI behaves like docker compose v2 where users and scripts notice: `ps` and one-off
containers, `restart` and its dependents, interrupted `up`, exit codes, `up` progress and
`--wait`, `events --json` watching another process.

Each behaviour was read from docker compose v2's source (cmd/compose/ps.go, pkg/compose/ps.go,
restart.go, wait.go, events.go, up.go); the tests say which rule they hold us to.
"""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE, run_cli
from tests.e2e.test_orchestration import (  # noqa: F401
    SLEEPER,
    Stack,
    engine_leftovers,
    root,
    stack,
)
from tests.leaks import kernel_snapshot

DOCKER_PS_FIELDS = {
    "Command", "CreatedAt", "ExitCode", "Health", "ID", "Image", "Labels", "LocalVolumes",
    "Mounts", "Name", "Names", "Networks", "Ports", "Project", "Publishers", "RunningFor",
    "Service", "Size", "State", "Status",
}  # fmt: skip


def _env(stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    return env


def _ps(stack: Stack, *args: str) -> list[dict[str, object]]:
    out = stack.ok("ps", "--format", "json", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _names(rows: list[dict[str, object]]) -> list[str]:
    return [str(r["Name"]) for r in rows]


# ---- 1. ps ----------------------------------------------------------------------------------
def test_ps_shows_oneoff_containers_with_all_or_status_and_docker_json_fields(
    stack: Stack,
) -> None:
    stack.write(
        {
            "db": SLEEPER + 'ports: ["127.0.0.1::80"]\n'
            "healthcheck:\n  test: [CMD, 'true']\n  interval: 1s\n  start_period: 10s\n"
            "  start_interval: 0.2s\n",
            "job": 'image: busybox\ncommand: ["true"]\n',
        }
    )
    stack.ok("up", "-d")
    running_oneoff = stack.ok("run", "-d", "--no-deps", "db", "sleep", "300").stdout.strip()
    failed = stack.cli("run", "--no-deps", "job", "sh", "-c", "exit 3")
    assert failed.returncode == 3, failed.stderr
    n = stack.name
    everything = _ps(stack, "-a")
    exited_oneoff = next(x for x in _names(everything) if x.startswith(f"{n}-job-run-"))
    assert running_oneoff.startswith(f"{n}-db-run-")
    # compose: -a lists stopped containers and those `run` made; sorted by name
    assert _names(everything) == sorted(
        [f"{n}-db-1", f"{n}-job-1", running_oneoff, exited_oneoff]
    )
    # plain `ps`: running service containers only, no one-offs
    assert _names(_ps(stack)) == [f"{n}-db-1"]
    # --status implies --all: running one-offs show up
    assert _names(_ps(stack, "--status", "running")) == sorted([f"{n}-db-1", running_oneoff])
    exited = {str(r["Name"]): r for r in _ps(stack, "--filter", "status=exited")}
    assert set(exited) == {f"{n}-job-1", exited_oneoff}
    assert exited[exited_oneoff]["ExitCode"] == 3 and exited[f"{n}-job-1"]["ExitCode"] == 0
    assert stack.ok("ps", "-a", "--services").stdout.split() == ["db", "job"]
    ids = stack.ok("ps", "-a", "-q").stdout.split()
    assert len(ids) == 4 and all(len(i) == 64 for i in ids)
    # docker's JSON fields, with the values a script reads
    for _ in range(100):  # bounded: the healthcheck passes within a few 0.2 s probes
        db = next(r for r in _ps(stack) if r["Name"] == f"{n}-db-1")
        if db["Health"] == "healthy":
            break
        time.sleep(0.1)
    assert set(db) >= DOCKER_PS_FIELDS, DOCKER_PS_FIELDS - set(db)
    assert db["State"] == "running" and db["Health"] == "healthy" and db["ExitCode"] == 0
    assert str(db["Status"]).startswith("Up ") and str(db["Status"]).endswith("(healthy)")
    assert db["Service"] == "db" and db["Project"] == n and len(str(db["ID"])) == 12
    publishers = db["Publishers"]
    assert isinstance(publishers, list) and len(publishers) == 1
    publisher: dict[str, object] = publishers[0]
    assert publisher["URL"] == "127.0.0.1" and publisher["TargetPort"] == 80
    assert publisher["Protocol"] == "tcp" and int(str(publisher["PublishedPort"])) > 0
    assert db["Ports"] == f"127.0.0.1:{publisher['PublishedPort']}->80/tcp"
    # Go-template subset, as scripts use it
    lines = stack.ok("ps", "-a", "--format", "{{.Name}} {{.State}} {{.ExitCode}}").stdout
    assert f"{exited_oneoff} exited 3" in lines.splitlines()
    table = stack.ok("ps", "--format", "table {{.Name}}\\t{{.Health}}").stdout.splitlines()
    assert table[0].split() == ["NAME", "HEALTH"] and table[1].split() == [f"{n}-db-1", "healthy"]
    # bad input: compose's parseFilter and service check both fail with 1
    unknown_filter = stack.cli("ps", "--filter", "name=db")
    assert unknown_filter.returncode == 1 and "unknown filter name" in unknown_filter.stderr
    nosuch = stack.cli("ps", "nosuch")
    assert nosuch.returncode == 1 and "no such service: nosuch" in nosuch.stderr


# ---- 2. restart -----------------------------------------------------------------------------
def _started_at(stack: Stack) -> dict[str, str | None]:
    from engine.api import Engine

    engine = Engine(stack.root)
    return {
        c.name: c.state.started_at
        for c in engine.list_containers({"com.docker.compose.project": stack.name})
    }


def test_restart_takes_restart_true_dependents_along_unless_no_deps(stack: Stack) -> None:
    stack.write(
        {
            "db": SLEEPER,
            "app": SLEEPER + "depends_on:\n  db: {condition: service_started, restart: true}\n",
            "plain": SLEEPER + "depends_on: [db]\n",
        }
    )
    stack.ok("up", "-d")
    n = stack.name
    before = _started_at(stack)
    out = stack.ok("restart", "-t", "0", "db").stderr
    after = _started_at(stack)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {f"{n}-db-1", f"{n}-app-1"}, out
    # dependencies first: db is back before app goes down
    assert out.index(f"{n}-db-1  Restarted") < out.index(f"{n}-app-1  Restarting"), out
    out = stack.ok("restart", "-t", "0", "--no-deps", "db").stderr
    again = _started_at(stack)
    assert {name for name in after if again[name] != after[name]} == {f"{n}-db-1"}, out
    stack.ok("stop", "-t", "0", "plain")
    stack.ok("restart", "-t", "0")  # everything, stopped containers included
    assert set(stack.states().values()) == {"running"}
    assert all(_started_at(stack)[name] != again[name] for name in again)


# ---- 3. interrupted up ------------------------------------------------------------------------
def _ours(stack: Stack, container_ids: set[str], network_id: str) -> dict[str, list[str]]:
    """Kernel objects of this stack still present (others' tests run on the machine too, so
    the suite-wide leak check cannot tell whose they are)."""
    from netdriver.names import bridge_name, host_veth_name

    snap = kernel_snapshot()
    root_path = str(stack.root)
    bridge = bridge_name(network_id)
    veths = {host_veth_name(network_id, cid) for cid in container_ids}
    found = {
        "links": sorted(n for n in snap.links if n == bridge or n in veths),
        "mounts": sorted(m for m in snap.mounts if root_path in m),
        "cgroups": sorted(g for g in snap.cgroups if Path(g).name in container_ids),
        "processes": sorted(
            p for p in snap.processes if root_path in p or any(c in p for c in container_ids)
        ),
        "firewall rules": sorted(
            r for r in snap.rules if bridge in r or any(f"pcport:{c}" in r for c in container_ids)
        ),
    }
    return {kind: items for kind, items in found.items() if items}


TEN = {
    f"s{i}": SLEEPER
    + ("depends_on: [s0]\n" if i else "")
    + ("volumes: [shared:/data]\n" if i % 3 == 0 else "")
    + ('ports: ["127.0.0.1::80"]\n' if i == 5 else "")
    for i in range(10)
}


def _interrupted_up(stack: Stack, how: str, when: str) -> set[str]:
    """`up -d` of TEN, sent `how` once a container line says `when`; the ids made so far."""
    from engine.api import Engine

    stack.write(TEN, extra="volumes:\n  shared: {}\n")
    process = subprocess.Popen(
        [PYCOMPOSE, "-p", stack.name, "--progress", "plain", "up", "-d"],
        cwd=stack.directory,
        env=_env(stack),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:  # signal while the first container is made, or has started
        if ("Container" in line and f"  {when}" in line) or time.monotonic() > deadline:
            break
    process.send_signal(getattr(signal, how))
    process.communicate(timeout=60)
    if how != "SIGKILL":
        assert process.returncode == 130
    engine = Engine(stack.root)
    return {c.id for c in engine.list_containers({"com.docker.compose.project": stack.name})}


def _down_leaves_nothing(stack: Stack, seen: set[str]) -> None:
    from engine.api import Engine

    engine = Engine(stack.root)
    seen |= {c.id for c in engine.list_containers({"com.docker.compose.project": stack.name})}
    network = engine.networks.find_network(f"{stack.name}_default")
    stack.ok("down", "-v", "-t", "0")
    assert engine_leftovers(stack.root, stack.name) == []
    left: dict[str, list[str]] = {}
    for _ in range(50):  # bounded: the DNS helper and idle zygotes exit within ~2 s
        left = _ours(stack, seen, network.id if network else "-")
        if not left:
            break
        time.sleep(0.1)
    assert left == {}, left


@pytest.mark.parametrize("when", ["Creating", "Started"])
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_interrupted_up_of_ten_services_converges_and_down_leaves_nothing(
    stack: Stack, how: str, when: str
) -> None:
    seen = _interrupted_up(stack, how, when)
    rerun = stack.cli("up", "-d")
    assert rerun.returncode == 0, rerun.stderr
    states = stack.states()
    assert sorted(states) == sorted(f"{stack.name}-s{i}-1" for i in range(10)), states
    assert set(states.values()) == {"running"}
    assert len(stack.rows()) == 10  # no duplicates, no half-made leftovers listed
    _down_leaves_nothing(stack, seen)


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_down_straight_after_an_interrupted_up_leaves_nothing(stack: Stack, how: str) -> None:
    _down_leaves_nothing(stack, _interrupted_up(stack, how, "Started"))


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_an_interrupted_down_exits_130_and_a_second_down_leaves_nothing(
    stack: Stack, how: str
) -> None:
    """SIGTERM stops `down` as Ctrl-C does (docker compose cancels on both): it died with
    -15 before, without unwinding. Here it comes while a container ignoring SIGTERM (`sleep`
    as PID 1) is in its grace period: the stop in flight ends, then `down` exits 130; the
    next `down` removes the rest."""
    stack.write({"slow": 'image: busybox\ncommand: ["sleep", "300"]\nstop_grace_period: 3s\n'})
    stack.ok("up", "-d")
    process = subprocess.Popen(
        [PYCOMPOSE, "-p", stack.name, "--progress", "plain", "down"],
        cwd=stack.directory, env=_env(stack), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        if ("Container" in line and "  Stopping" in line) or time.monotonic() > deadline:
            break
    time.sleep(0.3)
    process.send_signal(getattr(signal, how))
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    _down_leaves_nothing(stack, set())


# ---- 4. exit codes ----------------------------------------------------------------------------
def test_exit_codes_match_docker_compose(stack: Stack, tmp_path: Path) -> None:
    stack.write(
        {
            "db": SLEEPER,
            "quick": 'image: busybox\ncommand: ["sh", "-c", "sleep 1; exit 3"]\n',
            "slow": 'image: busybox\ncommand: ["sh", "-c", "sleep 2; exit 5"]\n',
        }
    )
    never = stack.cli("start", "db")  # compose: start only starts what up/create made
    assert never.returncode == 1 and 'service "db" has no container to start' in never.stderr
    stack.ok("up", "-d")
    # wait: every running container of the services, one line each, the last one's code
    waited = stack.cli("wait", "quick", "slow")
    assert waited.returncode == 5, waited.stderr
    assert [line.rsplit(" ", 1)[1] for line in waited.stdout.splitlines()] == ["3", "5"]
    assert all(line.startswith('container "') for line in waited.stdout.splitlines())
    nothing = stack.cli("wait", "quick")  # exited already: no running container to wait for
    assert nothing.returncode == 1 and "no containers for project" in nothing.stderr
    for args in (("exec", "-T", "nosuch", "true"), ("logs", "nosuch")):
        result = stack.cli(*args)
        assert result.returncode == 1, args
        assert "no such service: nosuch" in result.stderr and "Traceback" not in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run_cli(["ps"], cwd=empty, root=stack.root)
    assert missing.returncode == 1
    assert "no configuration file provided: not found" in missing.stderr
    assert stack.cli("run", "--rm", "--no-deps", "db", "sh", "-c", "exit 42").returncode == 42
    assert stack.cli("exec", "-T", "db", "sh", "-c", "exit 7").returncode == 7
    no_binary = stack.cli("run", "--rm", "--no-deps", "db", "/no/such/binary")
    assert no_binary.returncode == 1 and "/no/such/binary" in no_binary.stderr
    bad = stack.cli("up", "--exit-code-from", "nosuch")
    assert bad.returncode == 1 and "no such service: nosuch" in bad.stderr


def test_wait_down_project_removes_the_stack(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "job": 'image: busybox\ncommand: ["sh", "-c", "sleep 2"]\n'})
    stack.ok("up", "-d")
    result = stack.cli("wait", "--down-project", "job")
    assert result.returncode == 0, result.stderr
    assert engine_leftovers(stack.root, stack.name) == []


# ---- 5. up: progress, --wait, --abort-on-container-exit ----------------------------------------
@pytest.mark.parametrize("mode", ["plain", "tty", "json", "quiet"])
def test_up_progress_modes(stack: Stack, mode: str) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER + "depends_on: [db]\n"})
    result = run_cli(
        ["-p", stack.name, "--progress", mode, "up", "-d"], cwd=stack.directory, root=stack.root
    )
    assert result.returncode == 0, result.stderr
    err = result.stderr
    n = stack.name
    if mode == "plain":
        assert f" Container {n}-db-1  Started\n" in err
        assert err.index(f"{n}-db-1  Started") < err.index(f"{n}-web-1  Starting")
        assert f" Network {n}_default  Created\n" in err
    elif mode == "tty":
        assert "[+] Running 3/3" in err and err.endswith("\n")
        assert all(f"{x}" in err for x in (f"{n}-db-1", f"{n}-web-1", f"{n}_default"))
    elif mode == "json":
        records = [json.loads(line) for line in err.splitlines()]
        finals = {r["name"]: r["status"] for r in records}
        assert finals == {f"{n}_default": "Created", f"{n}-db-1": "Started",
                          f"{n}-web-1": "Started"}  # fmt: skip
        assert all({"id", "text", "status", "elapsed"} <= set(r) for r in records)
        assert records[-1]["id"] == f"Container {records[-1]['name']}"  # docker's id and text
        assert records[-1]["text"] == "Started"
    else:
        assert err == ""


def test_up_wait_timeout_names_the_unhealthy_service(stack: Stack) -> None:
    stack.write(
        {
            "db": SLEEPER + "healthcheck:\n  test: [CMD, 'false']\n  interval: 1s\n"
            "  retries: 100\n",
            "web": SLEEPER,
        }
    )
    started = time.monotonic()
    result = stack.cli("up", "-d", "--wait", "--wait-timeout", "2")
    assert result.returncode == 1
    assert "service db" in result.stderr and "not healthy" in result.stderr
    assert "service web" not in result.stderr
    assert time.monotonic() - started < 60  # it gave up instead of waiting for ever


def test_up_wait_timeout_bounds_a_dependents_wait_for_a_never_healthy_service(
    stack: Stack,
) -> None:
    """A fixture whose healthcheck never passes, with a service that `depends_on` it being
    healthy: `--wait-timeout` gives up on the dependency's wait too, naming the service,
    instead of waiting out 100 retries; `down -v` then removes everything."""
    stack.write(
        {
            "db": SLEEPER + "healthcheck:\n  test: [CMD, 'false']\n  interval: 1s\n"
            "  retries: 100\n",
            "web": SLEEPER + "depends_on:\n  db: {condition: service_healthy}\n",
        }
    )
    started = time.monotonic()
    result = stack.cli("up", "-d", "--wait", "--wait-timeout", "2", timeout=90)
    assert time.monotonic() - started < 30, "the dependency's wait ignored --wait-timeout"
    assert result.returncode == 1, result.stderr
    assert f"{stack.name}-db-1 is not healthy yet" in result.stderr
    assert "dependency db failed" in result.stderr
    stack.ok("down", "-v", "-t", "0")
    assert engine_leftovers(stack.root, stack.name) == []


def test_abort_on_container_exit_stops_the_others_with_the_first_exit_code(
    stack: Stack,
) -> None:
    stack.write(
        {
            "server": SLEEPER,
            "other": SLEEPER,
            "once": 'image: busybox\ncommand: ["sh", "-c", "sleep 0.5; echo bye; exit 3"]\n',
        }
    )
    result = stack.cli("up", "--abort-on-container-exit", "-t", "0", "--no-color", timeout=60)
    assert result.returncode == 3, result.stderr  # compose: the exit code of the first to exit
    assert "Aborting on container exit" in result.stderr
    assert "once-1 exited with code 3" in result.stdout
    assert set(stack.states().values()) == {"exited"}


# ---- 6. events ----------------------------------------------------------------------------------
def test_events_json_follows_up_and_down_of_another_process(stack: Stack) -> None:
    stack.write({"db": SLEEPER + "labels: {team: core}\n", "web": SLEEPER})
    watcher = subprocess.Popen(
        [PYCOMPOSE, "-p", stack.name, "events", "--json", "--until-seconds", "9"],
        cwd=stack.directory,
        env=_env(stack),
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # the watcher has taken its first look
    stack.ok("up", "-d")
    stack.ok("run", "--rm", "--no-deps", "web", "true")  # compose leaves one-offs out
    time.sleep(0.5)
    stack.ok("down", "-t", "0")
    out, _ = watcher.communicate(timeout=60)
    events = [json.loads(line) for line in out.splitlines()]
    n = stack.name
    for name in (f"{n}-db-1", f"{n}-web-1"):
        actions = [e["action"] for e in events if e["attributes"]["name"] == name]
        # docker's `down` stops (kill: SIGTERM, and with -t 0 at once SIGKILL; die, stop), then
        # removes (destroy)
        assert actions in (
            ["create", "start", "kill", "die", "stop", "destroy"],
            ["create", "start", "kill", "kill", "die", "stop", "destroy"],
        ), (name, actions)
    assert {e["service"] for e in events} == {"db", "web"}
    # removed before the watcher's next look, yet the exit code is reported (SIGKILL: 137)
    assert {e["attributes"].get("exitCode") for e in events if e["action"] == "die"} <= {
        "137", "143"}
    assert all(e["attributes"]["signal"] in ("9", "15") for e in events if e["action"] == "kill")
    db = next(e for e in events if e["service"] == "db")
    assert db["type"] == "container" and len(db["id"]) == 64
    assert db["attributes"]["team"] == "core" and db["attributes"]["image"] == "busybox"
    assert not any(k.startswith("com.docker.compose.") for k in db["attributes"])
