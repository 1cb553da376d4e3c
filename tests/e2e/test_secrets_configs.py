"""A service's `secrets:` and `configs:` as a user finds them in the container, as docker
compose provides them outside swarm: a file one bind-mounted read-only, an environment or
inline one copied in (owner and mode applied) and refreshed when `up`/`start` starts the
container again; a missing file fails naming the service and the secret, leaving nothing."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import stat

from tests.e2e.test_orchestration import (  # noqa: F401
    SLEEPER,
    Stack,
    engine_leftovers,
    root,
    stack,
)

SHOW = (  # `$$`: a `$` the stack file does not interpolate
    "for f in /run/secrets/mysec /run/secrets/token /run/secrets/sub/key /app.conf /fromfile"
    " /etc/ro.conf; do printf '%s=' $$f; cat $$f; echo \" $$(stat -c '%a %u %g' $$f)\"; done"
)
EXTRA = """
    secrets:
      mysec: {file: ./s.txt}
      token: {environment: TOKEN}
    configs:
      inline: {content: "hello ${WHO:-nobody}"}
      onfile: {file: ./c.txt}
"""
ENTRIES = """
secrets:
  - mysec
  - {source: token, uid: "1000", gid: "100", mode: 0400}
  - {source: mysec, target: sub/key}
configs:
  - {source: inline, target: /app.conf}
  - {source: onfile, target: /fromfile}
  - {source: inline, target: /etc/ro.conf, mode: 0440}
"""


def _write(stack: Stack, command: str, token: str = "t0ken") -> None:
    (stack.directory / "s.txt").write_text("s3cret")
    (stack.directory / "c.txt").write_text("from a file")
    (stack.directory / ".env").write_text(f"TOKEN={token}\nWHO=world\n")
    body = f"image: busybox\nstop_grace_period: 0s\ncommand: [sh, -c, {json.dumps(command)}]\n"
    stack.write({"app": body + ENTRIES}, EXTRA)


def _shown(output: str) -> dict[str, str]:
    lines = (line.split("| ", 1)[-1] for line in output.splitlines())
    return dict(line.split("=", 1) for line in lines if line.startswith("/"))


def test_up_and_run_provide_them_with_compose_targets_owners_and_modes(stack: Stack) -> None:
    _write(stack, SHOW)
    expected = {
        "/run/secrets/mysec": "s3cret 644 0 0",  # the host file as it is (bind, read-only)
        "/run/secrets/token": "t0ken 400 1000 100",  # copied: uid, gid, mode applied
        "/run/secrets/sub/key": "s3cret 644 0 0",  # a relative target is under /run/secrets
        "/app.conf": "hello world 444 0 0",  # inline, interpolated; compose's default 0444
        "/fromfile": "from a file 644 0 0",
        "/etc/ro.conf": "hello world 440 0 0",
    }
    assert _shown(stack.ok("up").stdout) == expected
    assert _shown(stack.ok("run", "--rm", "app").stdout) == expected


def test_file_ones_are_read_only(stack: Stack) -> None:
    _write(stack, "echo x > /run/secrets/mysec || echo refused; echo y > /fromfile || echo refused")
    out = stack.ok("run", "--rm", "app").stdout
    assert out.count("refused") == 2, out
    assert (stack.directory / "s.txt").read_text() == "s3cret"


def test_copied_ones_stay_root_only_on_the_host_and_go_with_the_container(
    stack: Stack,
) -> None:
    _write(stack, "exec sleep 300")
    stack.ok("up", "-d")
    container_id = stack.ok("ps", "-q", "--no-trunc").stdout.strip()
    directory = stack.root / "containers" / container_id
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700  # no other user reaches the layer
    assert (directory / "upper" / "run" / "secrets" / "token").read_text() == "t0ken"
    stack.ok("down", "-t", "0")
    assert not directory.exists()


def test_a_stopped_container_gets_the_current_content_when_up_starts_it(stack: Stack) -> None:
    """The config hash covers the references, not the contents (docker compose): no
    recreate, but what `up` starts again is given the content of now."""
    _write(stack, "exec sleep 300")
    stack.ok("up", "-d")
    first = stack.ids()
    stack.ok("stop", "-t", "0")
    _write(stack, "exec sleep 300", token="rotated")
    stack.ok("up", "-d")
    assert stack.ids() == first
    assert stack.ok("exec", "-T", "app", "cat", "/run/secrets/token").stdout == "rotated"


def test_a_missing_secret_file_fails_naming_the_service_and_leaves_nothing(
    stack: Stack,
) -> None:
    _write(stack, "true")
    (stack.directory / "s.txt").unlink()
    for command in (("up", "-d"), ("run", "--rm", "app")):
        result = stack.cli(*command)
        assert result.returncode != 0
        assert (
            'service "app": secret "mysec": invalid mount config for type "bind": bind source '
            f"path does not exist: {stack.directory / 's.txt'}"
        ) in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert engine_leftovers(stack.root, stack.name) == []


def test_an_unset_variable_fails_naming_the_secret(stack: Stack) -> None:
    _write(stack, "true")
    (stack.directory / ".env").write_text("WHO=world\n")
    result = stack.cli("up", "-d")
    assert result.returncode != 0
    assert 'environment variable "TOKEN" required by secret "token" is not set' in result.stderr
    assert engine_leftovers(stack.root, stack.name) == []
