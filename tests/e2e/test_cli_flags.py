"""docker compose v2 flags users reach for once a stack runs: `down SERVICE`, `up -V`,
`--always-recreate-deps`, `scale`, `exec -d` / `--privileged`, a one-off's DNS names
(`run --use-aliases`), `config --variables`.

Each rule was read from docker compose v2 (cmd/compose/*.go, pkg/compose/*.go); the tests
say which one they hold us to, observed as a user would (ids, files, DNS answers, CapEff).
"""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PYCOMPOSE, run_cli
from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

WITH_DATA = SLEEPER + "volumes: [/anon, shared:/shared]\n"
SHARED = "volumes:\n  shared: {}\n"


def _volumes(stack: Stack) -> set[str]:
    return set(stack.ok("volume", "ls", "-q").stdout.split())


@contextlib.contextmanager
def _running_cli(stack: Stack, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`pycompose -p NAME ARGS` running beside the test, its output piped; killed after 60 s
    at the latest, so that a read that never gets its line cannot hang the suite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    with subprocess.Popen(
        [PYCOMPOSE, "-p", stack.name, *args], cwd=stack.directory, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        guard = threading.Timer(60, process.kill)
        guard.start()
        try:
            yield process
        finally:
            guard.cancel()


def test_down_of_one_service_leaves_the_rest_and_what_they_use(stack: Stack) -> None:
    """compose 2.20 `down SERVICE`: its containers go (with -v its anonymous volumes); a
    network or volume another container still uses stays, reported as in use."""
    stack.write({"db": WITH_DATA, "web": SLEEPER + "volumes: [shared:/shared]\n"}, SHARED)
    stack.ok("up", "-d")
    before = _volumes(stack)
    web = stack.ids()[f"{stack.name}-web-1"]
    down = stack.ok("down", "-v", "-t", "0", "db")
    assert list(stack.ids()) == [f"{stack.name}-web-1"]
    assert stack.ids()[f"{stack.name}-web-1"] == web
    assert "Resource is still in use" in down.stderr
    left = _volumes(stack)
    assert f"{stack.name}_shared" in left  # web still mounts it
    assert len(before - left) == 1, (before, left)  # db's anonymous volume went with -v
    assert stack.ok("exec", "-T", "web", "true").returncode == 0  # its network is there
    assert stack.cli("down", "nosuch").returncode == 1


def test_renew_anon_volumes_gives_a_recreated_container_fresh_ones(stack: Stack) -> None:
    stack.write({"db": WITH_DATA}, SHARED)
    stack.ok("up", "-d")
    stack.ok("exec", "-T", "db", "sh", "-c", "echo x > /anon/f; echo y > /shared/f")
    stack.ok("up", "-d", "--force-recreate")
    assert stack.ok("exec", "-T", "db", "cat", "/anon/f").stdout == "x\n"
    stack.ok("up", "-d", "--force-recreate", "-V")
    assert stack.cli("exec", "-T", "db", "cat", "/anon/f").returncode != 0  # a fresh one
    assert stack.ok("exec", "-T", "db", "cat", "/shared/f").stdout == "y\n"  # named: kept


def test_force_recreate_of_a_service_recreates_its_dependencies_only_when_asked(
    stack: Stack,
) -> None:
    """compose: the services named follow --force-recreate; a dependency pulled in follows
    its own strategy (diverged), or force with --always-recreate-deps."""
    stack.write({"db": SLEEPER, "web": SLEEPER + "depends_on: [db]\n"})
    stack.ok("up", "-d")
    first = stack.ids()
    stack.ok("up", "-d", "--force-recreate", "web")
    second = stack.ids()
    db, web = f"{stack.name}-db-1", f"{stack.name}-web-1"
    assert second[db] == first[db] and second[web] != first[web]
    stack.ok("up", "-d", "--always-recreate-deps", "web")
    third = stack.ids()
    assert third[db] != second[db] and third[web] == second[web]
    refused = stack.cli("up", "-d", "--always-recreate-deps", "--no-recreate")
    assert refused.returncode == 1 and "incompatible" in refused.stderr


def test_scale_adds_and_removes_replicas_of_the_services_named(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("scale", "web=3")
    assert sorted(stack.ids()) == sorted(
        [f"{stack.name}-db-1", *(f"{stack.name}-web-{n}" for n in (1, 2, 3))]
    )
    stack.ok("scale", "web=1")
    assert sorted(stack.ids()) == [f"{stack.name}-db-1", f"{stack.name}-web-1"]


def test_exec_detached_and_privileged(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("exec", "-d", "db", "sh", "-c", "sleep 1; echo late > /tmp/done")
    assert stack.cli("exec", "-T", "db", "cat", "/tmp/done").returncode != 0  # not yet
    for _ in range(50):  # bounded: the command ends after ~1 s
        if stack.cli("exec", "-T", "db", "cat", "/tmp/done").returncode == 0:
            break
        time.sleep(0.1)
    assert stack.ok("exec", "-T", "db", "cat", "/tmp/done").stdout == "late\n"
    missing = stack.cli("exec", "-d", "db", "no-such-command")
    assert missing.returncode == 127 and "executable file not found" in missing.stderr

    def cap_eff(*flags: str) -> int:
        out = stack.ok("exec", "-T", *flags, "db", "grep", "CapEff", "/proc/self/status")
        return int(out.stdout.split()[1], 16)

    plain, privileged = cap_eff(), cap_eff("--privileged")
    assert plain & ~privileged == 0 and privileged & ~plain  # a superset
    cap_sys_admin = 1 << 21
    assert privileged & cap_sys_admin and not plain & cap_sys_admin


def test_a_oneoff_answers_to_its_own_name_only_unless_use_aliases(stack: Stack) -> None:
    """compose `run`: the one-off joins the service's networks without the service's name
    and aliases (it must not take part of `db`'s traffic), unless --use-aliases."""
    stack.write({"db": SLEEPER, "probe": SLEEPER})
    stack.ok("up", "-d")

    def answers(name: str) -> set[str]:
        out = stack.cli("exec", "-T", "probe", "nslookup", name).stdout
        return {line.split()[-1] for line in out.splitlines()[2:] if line.startswith("Address")}

    service_only = answers("db")
    assert len(service_only) == 1
    oneoff = f"{stack.name}-quiet"
    stack.ok("run", "-d", "--name", oneoff, "--no-deps", "db", "sleep", "300")
    assert answers("db") == service_only
    assert len(answers(oneoff)) == 1  # its container name resolves
    stack.ok("run", "-d", "--name", f"{stack.name}-loud", "--use-aliases", "--no-deps", "db",
             "sleep", "300")
    assert len(answers("db")) == 2 and service_only < answers("db")


def test_config_lists_the_variables_the_file_uses(stack: Stack) -> None:
    (stack.directory / "compose.yaml").write_text(
        "services:\n  web:\n    image: ${IMAGE:-busybox}\n"
        "    command: echo ${GREETING:?say hi} $$HOME ${TAG+set} $PORT\n"
    )
    (stack.directory / ".env").write_text("GREETING=hi\n")
    out = stack.cli("config", "--variables")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert rows[0] == ["NAME", "REQUIRED", "DEFAULT", "VALUE", "ALTERNATE", "VALUE"]
    assert rows[1:] == [
        ["GREETING", "true"], ["IMAGE", "false", "busybox"], ["PORT", "false"],
        ["TAG", "false", "set"],
    ]


def test_home_is_the_user_s_passwd_home(stack: Stack) -> None:
    """runc sets HOME from the user's passwd entry unless the image or service sets it: a
    tool writing ~/.cache as `nobody` must not be pointed at /root."""
    stack.write({"db": SLEEPER + "user: nobody\n", "root": SLEEPER,
                 "own": SLEEPER + "user: nobody\nenvironment: {HOME: /data}\n"})
    stack.ok("up", "-d")

    def home(service: str, *flags: str) -> str:
        return stack.ok("exec", "-T", *flags, service, "sh", "-c", "echo $HOME").stdout.strip()

    assert home("db") == "/nonexistent"
    assert home("root") == "/root"
    assert home("root", "-u", "nobody") == "/nonexistent"
    assert home("own") == "/data"
    assert home("own", "-u", "root") == "/data"  # set by the service: kept


def test_an_image_volume_gets_an_anonymous_volume_that_follows_recreates(stack: Stack) -> None:
    """Docker makes an anonymous volume for each VOLUME of the image (filled from the image),
    and docker compose hands it to the recreated container: a database image's data dir."""
    (stack.directory / "Dockerfile").write_text(
        "FROM busybox\nRUN mkdir -p /data && echo seed > /data/seed\nVOLUME /data\n"
    )
    stack.write({"db": SLEEPER.replace("image: busybox\n", "build: .\n")})
    stack.ok("up", "-d", "--build")
    assert stack.ok("exec", "-T", "db", "cat", "/data/seed").stdout == "seed\n"
    stack.ok("exec", "-T", "db", "sh", "-c", "echo mine > /data/f")
    mounts = stack.ok("container", "inspect", f"{stack.name}-db-1").stdout
    assert '"Destination": "/data"' in mounts
    before = _volumes(stack)
    assert len(before) == 1
    stack.ok("up", "-d", "--force-recreate")
    assert stack.ok("exec", "-T", "db", "cat", "/data/f").stdout == "mine\n"
    assert _volumes(stack) == before
    stack.ok("down", "-v", "-t", "0")
    assert _volumes(stack) == set()


def test_attached_up_shows_what_containers_say_while_they_stop(stack: Stack) -> None:
    """docker compose keeps following the logs while Ctrl-C (or SIGTERM) stops the stack:
    a service's shutdown messages are seen."""
    stack.write({"w": (
        "image: busybox\ncommand: [sh, -c, \"echo started; trap 'echo shutting down; "
        "sleep 0.3; echo bye; exit 0' TERM; while :; do sleep 0.1; done\"]\n"
    )})
    with _running_cli(stack, "--progress", "plain", "up") as up:
        assert up.stdout is not None
        first = up.stdout.readline()
        assert "started" in first, first
        up.send_signal(signal.SIGTERM)
        out, err = up.communicate(timeout=30)
    assert up.returncode == 130, err
    assert "w-1  | shutting down" in out and "w-1  | bye" in out, out
    assert "Gracefully stopping" in err
    assert stack.states() == {f"{stack.name}-w-1": "exited"}


def test_down_rmi_without_the_stack_file_removes_the_project_s_images(
    stack: Stack, tmp_path: Path
) -> None:
    """`-p NAME down --rmi local` from anywhere: the project is what its containers' labels
    say (docker compose rebuilds it from them), images included."""
    (stack.directory / "Dockerfile").write_text("FROM busybox\n")
    stack.write({"web": SLEEPER.replace("image: busybox\n", "build: .\n"), "db": SLEEPER})
    stack.ok("up", "-d", "--build")
    built = f"{stack.name}-web"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    down = run_cli(["-p", stack.name, "down", "-t", "0", "--rmi", "local"], cwd=elsewhere,
                   root=stack.root)
    assert down.returncode == 0, down.stderr
    images = [line.split()[0] for line in stack.ok("image", "ls").stdout.splitlines()[1:]]
    assert built not in images and "busybox" in images  # local only: busybox stays


def test_logs_follow_goes_on_across_a_restart(stack: Stack) -> None:
    """docker compose's `logs -f` re-attaches to a container that starts again: the lines of
    its new run show up, and the command ends once everything stopped for good."""
    stack.write({"w": "image: busybox\ncommand: [sh, -c, 'echo run-$$RANDOM; sleep 300']\n"
                      "stop_grace_period: 0s\n"})
    stack.ok("up", "-d")
    with _running_cli(stack, "logs", "-f", "--no-log-prefix") as follower:
        assert follower.stdout is not None
        first = follower.stdout.readline()
        stack.ok("restart", "w")
        second = follower.stdout.readline()
        stack.ok("stop", "w")
        rest, _ = follower.communicate(timeout=30)
    assert first.startswith("run-") and second.startswith("run-"), (first, second, rest)
    assert first != second  # the new run's line, not the old one again
    assert follower.returncode == 0


def _config_hash_labels(stack: Stack) -> dict[str, str]:
    hashes = {}
    for row in stack.rows():
        labels = dict(item.split("=", 1) for item in str(row["Labels"]).split(",") if item)
        hashes[labels["com.docker.compose.service"]] = labels["com.docker.compose.config-hash"]
    return hashes


def test_config_hash_is_the_label_up_gives_and_tells_whether_up_would_recreate(
    stack: Stack,
) -> None:
    """`config --hash '*'` prints `service hash` lines (docker compose's runHash); ours equal
    the config-hash label of the containers `up` makes from the same file, so a differing
    line is a service the next `up` recreates."""
    stack.write({"web": SLEEPER, "db": SLEEPER})
    stack.ok("up", "-d")
    printed = dict(
        line.split() for line in stack.ok("config", "--hash", "*").stdout.splitlines())
    assert list(printed) == ["db", "web"]
    assert printed == _config_hash_labels(stack)
    stack.write({"web": SLEEPER + "environment: {LEVEL: '2'}\n", "db": SLEEPER})
    changed = stack.ok("config", "--hash", "web,db").stdout.splitlines()
    assert changed[0] == f"db {printed['db']}"
    assert changed[1] != f"web {printed['web']}"
    stack.ok("up", "-d")
    assert _config_hash_labels(stack)["web"] == changed[1].split()[1]


HOOKED = SLEEPER + """\
volumes: [data:/data]
post_start:
  - command: [sh, -c, "echo started-as-$(id -u) >> /data/log"]
    user: root
pre_stop:
  - command: sh -c 'echo stopping-$$MSG >> /data/log'
    environment: {MSG: bye}
"""


def test_post_start_and_pre_stop_hooks_run_in_the_container(stack: Stack) -> None:
    """Compose 2.30 lifecycle hooks (pkg/compose/hook.go): post_start is exec'd after the
    container starts (`up`, `start`), pre_stop before it is stopped (`stop`, `down`), with
    their own user and environment; a hook that fails fails the command."""
    stack.write({"web": HOOKED}, "volumes:\n  data: {}\n")
    up = stack.ok("up", "-d")
    assert "not supported" not in up.stderr
    assert stack.ok("exec", "-T", "web", "cat", "/data/log").stdout == "started-as-0\n"
    stack.ok("stop")
    stack.ok("start")
    assert stack.ok("exec", "-T", "web", "cat", "/data/log").stdout == (
        "started-as-0\nstopping-bye\nstarted-as-0\n")
    stack.ok("restart")  # restart.go: pre_stop before, post_start after
    assert stack.ok("exec", "-T", "web", "cat", "/data/log").stdout == (
        "started-as-0\nstopping-bye\nstarted-as-0\nstopping-bye\nstarted-as-0\n")
    stack.ok("down")  # the volume stays: a one-off reads what pre_stop wrote
    stack.write({"web": HOOKED, "reader": "image: busybox\nvolumes: [data:/data]\n"},
                "volumes:\n  data: {}\n")
    read = stack.ok("run", "--rm", "--no-deps", "reader", "cat", "/data/log")
    assert read.stdout.splitlines()[-1] == "stopping-bye"
    stack.write({"web": SLEEPER + "post_start: [{command: [sh, -c, 'exit 3']}]\n"})
    failed = stack.cli("up", "-d")
    assert failed.returncode == 1
    assert "web hook exited with status 3" in failed.stderr


def test_a_one_off_run_gets_its_post_start_hooks_too(stack: Stack) -> None:
    """docker compose's `run` runs post_start once the one-off started (run.go): beside an
    attached one-off's output, before `run -d` returns."""
    stack.write({
        "job": "image: busybox\nvolumes: [data:/data]\n"
               "post_start: [{command: [touch, /data/hooked]}]\n",
        "reader": "image: busybox\nvolumes: [data:/data]\n",
    }, "volumes:\n  data: {}\n")
    wait_for_hook = (
        "for i in $(seq 100); do [ -e /data/hooked ] && rm /data/hooked && echo HOOKED && exit 0;"
        " sleep 0.1; done; echo NEVER")
    attached = stack.ok("run", "--rm", "job", "sh", "-c", wait_for_hook)
    assert attached.stdout.strip() == "HOOKED", attached.stderr
    stack.ok("run", "-d", "job", "sleep", "300")
    assert stack.ok("run", "--rm", "reader", "ls", "/data").stdout.split() == ["hooked"]


def test_an_attached_up_prints_what_a_post_start_hook_says(stack: Stack) -> None:
    """docker compose (pkg/compose/hook.go) shows a hook's output when attached, as
    `<container without project> ->` lines; `up -d` shows none."""
    hooked = (
        'image: busybox\ncommand: ["sh", "-c", "sleep 1"]\n'
        "post_start: [{command: [sh, -c, 'echo said-by-hook']}]\n"
    )
    stack.write({"app": hooked})
    attached = stack.ok("up", "--no-color")
    assert "app-1 -> | said-by-hook" in attached.stdout, attached.stdout
    detached = stack.ok("up", "-d", "--force-recreate")
    assert "said-by-hook" not in detached.stdout + detached.stderr
