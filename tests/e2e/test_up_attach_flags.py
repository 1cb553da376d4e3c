"""Attached `up` as docker compose v2 chooses what to follow and when to stop
(cmd/compose/up.go, pkg/compose/up.go): `--attach-dependencies`, a service's `attach: false`,
`--abort-on-container-failure`, and the flag combinations it refuses."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import re

from tests.e2e.test_orchestration import Stack, root, stack  # noqa: F401


def _says(words: str) -> str:
    return f'image: busybox\ncommand: ["sh", "-c", "echo {words}"]\n'


def test_named_services_are_followed_without_their_dependencies_unless_asked(
    stack: Stack,
) -> None:
    stack.write({"dep": _says("from-dep"), "app": _says("from-app") + "depends_on: [dep]\n"})
    plain = stack.cli("up", "app", "--no-color", timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert "from-app" in plain.stdout and "from-dep" not in plain.stdout
    both = stack.cli("up", "app", "--attach-dependencies", "--no-color", timeout=60)
    assert both.returncode == 0, both.stderr
    assert re.search(r"^dep-1 +\| from-dep$", both.stdout, re.M), both.stdout
    assert re.search(r"^app-1 +\| from-app$", both.stdout, re.M), both.stdout


def test_attach_false_in_the_file_is_not_followed(stack: Stack) -> None:
    stack.write({"noisy": _says("from-noisy") + "attach: false\n", "app": _says("from-app")})
    result = stack.cli("up", "--no-color", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "from-app" in result.stdout and "from-noisy" not in result.stdout


def test_abort_on_container_failure_ignores_success_and_stops_on_the_first_failure(
    stack: Stack,
) -> None:
    stack.write({
        "fine": _says("fine"),
        "fails": 'image: busybox\ncommand: ["sh", "-c", "sleep 1; exit 3"]\n',
        "server": 'image: busybox\ncommand: ["sleep", "300"]\nstop_grace_period: 0s\n',
    })
    result = stack.cli("up", "--abort-on-container-failure", "-t", "0", "--no-color", timeout=60)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "Aborting on container exit" in result.stderr
    states = stack.states()
    assert states[f"{stack.name}-server-1"] == "exited"  # stopped by the abort


def test_flag_combinations_docker_compose_refuses(stack: Stack) -> None:
    stack.write({"app": _says("x")})
    cases = {
        ("--abort-on-container-exit", "--abort-on-container-failure"):
            "--abort-on-container-failure cannot be combined with --abort-on-container-exit",
        ("-d", "--attach-dependencies"): "--detach cannot be combined with",
        ("-d", "--exit-code-from", "app"): "--detach cannot be combined with",
        ("--wait", "--attach", "app"): "--wait cannot be combined with",
        ("--attach", "app", "--attach-dependencies"):
            "cannot combine --attach and --attach-dependencies",
        ("--attach", "nosuch"): "cannot attach to services not included in up: nosuch",
    }
    for flags, message in cases.items():
        result = stack.cli("up", *flags, timeout=60)
        assert result.returncode != 0 and message in result.stderr, (flags, result.stderr)
    assert stack.states() == {}  # refused before anything was made


def test_a_lone_failing_container_aborts_with_its_exit_code(stack: Stack) -> None:
    """The first exit ends the stack and gives `up` its code even when no other container
    is left running (every stream ended before a poller saw the exit: `up` returned 0, a CI
    job's failed tests passed). Three times: it was a race."""
    stack.write({"t": 'image: busybox\ncommand: ["sh", "-c", "echo testing; exit 4"]\n'})
    for flag, code in (("--abort-on-container-exit", 4), ("--abort-on-container-failure", 4),
                       ("--abort-on-container-exit", 4)):
        result = stack.cli("up", flag, "--no-color", timeout=60)
        assert result.returncode == code, (flag, result.stdout, result.stderr)
        assert "Aborting on container exit" in result.stderr


def test_attached_dependencies_do_not_hold_up_once_the_named_service_ended(
    stack: Stack,
) -> None:
    """docker compose's monitor watches the services named: `up --attach-dependencies bad`
    follows db's output too, but returns once `bad` has exited (db, not asked for, runs on)."""
    db = 'image: busybox\ncommand: ["sh", "-c", "echo db-up; exec sleep 300"]\n'
    db += "stop_grace_period: 0s\n"
    bad = 'image: busybox\ncommand: ["sh", "-c", "sleep 1; exit 3"]\ndepends_on: [db]\n'
    stack.write({"db": db, "bad": bad})
    result = stack.cli("up", "--attach-dependencies", "--abort-on-container-exit", "bad",
                       "--no-color", timeout=60)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "db-up" in result.stdout
    plain = stack.cli("up", "--attach-dependencies", "bad", "--no-color", timeout=60)
    assert plain.returncode == 0, (plain.stdout, plain.stderr)
    assert stack.states()[f"{stack.name}-db-1"] == "running"
    stack.ok("down", "-t", "0")
