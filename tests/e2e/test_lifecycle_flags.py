"""docker compose v2's lifecycle flags as a user types them in scripts and CI: `run --cap-add`,
`run -l`, `run -q`, `up --quiet-build`, `start --wait`, `exec -it`, and the global `--ansi`,
`--compatibility` and `--dry-run`; observed as a user would (CapEff, `container inspect`,
names in `ps`, escape codes in `logs`, what stderr says, what is left under the data root)."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import time

from tests.conftest import run_cli
from tests.e2e.test_orchestration import (  # noqa: F401
    SLEEPER,
    Stack,
    engine_leftovers,
    root,
    stack,
)

CAP_CHOWN = 1 << 0
CAP_NET_ADMIN = 1 << 12
ESC = "\x1b["


def _cap_eff(stack: Stack, *flags: str) -> int:
    out = stack.ok("run", "--rm", *flags, "db", "grep", "CapEff", "/proc/self/status").stdout
    return int(out.split()[1], 16)


def test_run_cap_add_and_cap_drop_change_the_one_off_s_capabilities(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    plain = _cap_eff(stack)
    assert plain & CAP_CHOWN and not plain & CAP_NET_ADMIN  # Docker's default set
    assert _cap_eff(stack, "--cap-add", "NET_ADMIN") & CAP_NET_ADMIN
    assert not _cap_eff(stack, "--cap-drop", "CHOWN") & CAP_CHOWN


def test_run_label_is_on_the_container_and_a_label_needs_a_value(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    name = stack.ok("run", "-d", "-l", "ci.job=42", "--label=team=infra", "db").stdout.strip()
    inspected = json.loads(stack.ok("container", "inspect", name).stdout)
    labels = inspected[0]["Config"]["Labels"]
    assert labels["ci.job"] == "42" and labels["team"] == "infra"
    assert labels["com.docker.compose.oneoff"] == "True"  # the one-off's own labels stay
    bad = stack.cli("run", "--rm", "-l", "novalue", "db", "true")
    assert bad.returncode != 0 and "label must be set as KEY=VALUE" in bad.stderr
    assert not [n for n in stack.ids() if "-run-" in n and n != name]  # nothing made


def test_run_quiet_prints_no_progress_of_its_dependencies(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER + "depends_on: [db]\n"})
    loud = stack.ok("run", "--rm", "web", "echo", "hi")
    assert f"Container {stack.name}-db-1  Started" in loud.stderr
    stack.ok("stop", "db")
    quiet = stack.ok("run", "-q", "--rm", "web", "echo", "hi")
    assert quiet.stdout == "hi\n" and "Container" not in quiet.stderr
    assert stack.states()[f"{stack.name}-db-1"] == "running"  # started all the same


def test_up_quiet_build_builds_without_the_build_output(stack: Stack) -> None:
    (stack.directory / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\n")
    stack.write({"app": 'build: .\ncommand: ["sleep", "300"]\nstop_grace_period: 0s\n'})
    quiet = stack.ok("up", "-d", "--quiet-build")
    assert "Building" not in quiet.stderr and "Successfully" not in quiet.stderr
    assert stack.ok("exec", "-T", "app", "cat", "/built").stdout == "built\n"
    loud = stack.ok("up", "-d", "--build")
    assert "Building app" in loud.stderr


def test_start_wait_returns_once_running_and_fails_for_a_container_that_exits(
    stack: Stack,
) -> None:
    stack.write({
        "db": SLEEPER,
        "flaky": 'image: busybox\ncommand: ["sh", "-c", "exit 3"]\n',
    })
    stack.ok("create")
    started = stack.ok("start", "--wait", "--wait-timeout", "30", "db")
    assert f"Container {stack.name}-db-1  Healthy" in started.stderr
    assert stack.states()[f"{stack.name}-db-1"] == "running"
    failed = stack.cli("start", "--wait", "flaky")
    assert failed.returncode != 0 and "flaky" in failed.stderr


def test_start_wait_timeout_bounds_a_dependents_wait_for_a_never_healthy_service(
    stack: Stack,
) -> None:
    """As `up --wait --wait-timeout`: the `depends_on: service_healthy` wait gives up too."""
    stack.write({
        "db": SLEEPER + "healthcheck:\n  test: [CMD, 'false']\n  interval: 1s\n"
        "  retries: 100\n",
        "web": SLEEPER + "depends_on:\n  db: {condition: service_healthy}\n",
    })
    stack.ok("create")
    started = time.monotonic()
    failed = stack.cli("start", "--wait", "--wait-timeout", "2")
    assert time.monotonic() - started < 30, "the dependency's wait ignored --wait-timeout"
    assert failed.returncode == 1, failed.stderr
    assert f"{stack.name}-db-1 is not healthy yet" in failed.stderr


def test_exec_accepts_docker_s_it(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    assert stack.ok("exec", "-it", "db", "echo", "ok").stdout.strip() == "ok"
    assert stack.ok("exec", "-i", "-t", "db", "echo", "ok").stdout.strip() == "ok"


def test_compatibility_names_containers_with_underscores(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": 'image: busybox\ncommand: ["echo", "hello"]\n'})
    stack.ok("--compatibility", "up", "-d")
    assert set(stack.ids()) == {f"{stack.name}_db_1", f"{stack.name}_web_1"}
    one_off = stack.ok("--compatibility", "run", "-d", "db").stdout.strip()
    assert one_off.startswith(f"{stack.name}_db_run_")
    assert "web_1  | hello" in stack.ok("logs", "web").stdout  # prefixes follow the names
    # without the flag the same project is converged by labels, names as they were made
    stack.ok("up", "-d")
    assert f"{stack.name}_db_1" in stack.ids()


def test_compatibility_from_the_project_env_file(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    (stack.directory / ".env").write_text("COMPOSE_COMPATIBILITY=true\n")
    stack.ok("up", "-d")
    assert set(stack.ids()) == {f"{stack.name}_db_1"}


def test_ansi_decides_colours_and_refuses_a_contradiction(stack: Stack) -> None:
    stack.write({"web": 'image: busybox\ncommand: ["echo", "hello"]\n'})
    stack.ok("up", "-d")
    for _ in range(100):  # bounded: echo exits at once
        if stack.states()[f"{stack.name}-web-1"] == "exited":
            break
        time.sleep(0.1)

    def logs(*flags: str) -> str:
        result = run_cli(
            [*flags, "-p", stack.name, "logs", "web"], cwd=stack.directory, root=stack.root
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert ESC not in logs()  # auto: not a terminal
    assert ESC in logs("--ansi", "always") and "hello" in logs("--ansi", "always")
    assert ESC not in logs("--ansi", "never")
    clash = run_cli(
        ["--ansi", "never", "--progress", "tty", "-p", stack.name, "ps"],
        cwd=stack.directory, root=stack.root,
    )
    assert clash.returncode != 0
    assert "can't use --progress tty while ANSI support is disabled" in clash.stderr
    bogus = run_cli(["--ansi", "sometimes", "-p", stack.name, "ps"], cwd=stack.directory,
                    root=stack.root)
    assert bogus.returncode != 0 and "--ansi" in bogus.stderr


def _everything(stack: Stack) -> tuple[object, ...]:
    """Containers (names, ids, states), networks, volumes and images under the stack's root;
    the networks as the engine records them (a bridge's kernel name is derived from it)."""
    volumes = stack.ok("volume", "ls", "-q").stdout.split()
    images = stack.ok("image", "ls", "-q").stdout.split()
    networks = sorted(engine_leftovers(stack.root, stack.name))
    return sorted(stack.states().items()), sorted(stack.ids().values()), networks, volumes, images


def test_dry_run_up_creates_nothing_and_says_what_it_would_do(stack: Stack) -> None:
    stack.write(
        {"db": SLEEPER + "healthcheck: {test: [CMD, 'true'], interval: 1s}\n",
         "web": SLEEPER + "depends_on: {db: {condition: service_healthy}}\n"
                          "volumes: [data:/data, /anon]\n"},
        extra="volumes:\n  data: {}\n",
    )
    before = _everything(stack)
    up = stack.ok("--dry-run", "up", "-d", "--wait")  # the fast `up` path
    assert f"DRY-RUN MODE - Container {stack.name}-web-1  Started" in up.stderr
    assert f"DRY-RUN MODE - Network {stack.name}_default  Created" in up.stderr
    assert f"DRY-RUN MODE - Volume {stack.name}_data  Created" in up.stderr
    attached = stack.ok("--dry-run", "up")  # attached: nothing runs to follow, it returns
    assert "DRY-RUN MODE - " in attached.stderr
    assert _everything(stack) == before and before[:4] == ([], [], [], [])
    assert not stack.ok("ps", "-a", "-q").stdout.strip()


def test_dry_runs_leave_a_running_stack_as_it_is(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER + "depends_on: [db]\nvolumes: [/anon]\n"})
    stack.ok("up", "-d")
    before = _everything(stack)
    for args in (
        ("stop",), ("restart",), ("kill",), ("rm", "-s", "-f"), ("up", "-d", "--force-recreate"),
        ("create", "--force-recreate"), ("scale", "web=2"), ("down", "-v", "--rmi", "all"),
    ):
        result = stack.ok("--dry-run", *args)
        assert "DRY-RUN MODE - Container" in result.stderr, args
        assert _everything(stack) == before, args
    stack.ok("stop")
    stopped = _everything(stack)
    started = stack.ok("--dry-run", "start")
    assert f"DRY-RUN MODE - Container {stack.name}-db-1  Started" in started.stderr
    assert _everything(stack) == stopped


def test_dry_run_refuses_what_it_cannot_show_without_doing(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    for args in (("run", "--rm", "db", "true"), ("exec", "db", "true"), ("build",)):
        result = stack.cli("--dry-run", *args)
        assert result.returncode != 0, args
        assert f"--dry-run is not supported by `{args[0]}`" in result.stderr
    assert stack.ids() == {}
    assert stack.ok("--dry-run", "ps").returncode == 0  # read-only commands just run


def test_kill_remove_orphans_and_rm_volumes(stack: Stack) -> None:
    stack.write({"db": SLEEPER + "volumes: [/anon]\n", "old": SLEEPER})
    stack.ok("up", "-d")
    anonymous = set(stack.ok("volume", "ls", "-q").stdout.split())
    assert len(anonymous) == 1
    stack.write({"db": SLEEPER + "volumes: [/anon]\n"})  # `old` is an orphan now
    stack.ok("kill", "--remove-orphans")
    assert stack.states() == {f"{stack.name}-db-1": "exited"}
    stack.ok("rm", "-f", "-v")
    assert stack.ids() == {}
    assert not set(stack.ok("volume", "ls", "-q").stdout.split()) & anonymous


def test_no_build_uses_what_is_there_and_refuses_what_is_not(stack: Stack) -> None:
    (stack.directory / "Dockerfile").write_text("FROM busybox\nRUN echo v1 > /v\n")
    stack.write({"app": 'build: .\ncommand: ["sleep", "300"]\nstop_grace_period: 0s\n'})
    missing = stack.cli("create", "--no-build")
    assert missing.returncode != 0 and "--no-build" in missing.stderr
    assert stack.ids() == {}
    stack.ok("build")
    (stack.directory / "Dockerfile").write_text("FROM busybox\nRUN echo v2 > /v\n")
    up = stack.ok("up", "-d", "--no-build")
    assert "Building" not in up.stderr
    assert stack.ok("exec", "-T", "app", "cat", "/v").stdout == "v1\n"  # the image built before


def test_run_refuses_the_flag_pairs_docker_compose_refuses(stack: Stack) -> None:
    stack.write({"db": SLEEPER + "ports: ['80']\n"})
    for args, message in (
        (("-t", "-T"), "--tty and --no-TTY can't be used together"),
        (("-P", "-p", "80"), "--service-ports and --publish are incompatible"),
    ):
        result = stack.cli("run", "--rm", *args, "db", "true")
        assert result.returncode != 0 and message in result.stderr, result.stderr
    assert stack.ids() == {}  # refused before anything was made
    # -t alone runs (with no stdin of ours: piped into a pty is docker's "not a TTY" error)
    ran = stack.ok("run", "--rm", "-t", "--interactive=false", "db", "echo", "ok")
    assert ran.stdout.strip() == "ok"
