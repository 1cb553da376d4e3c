"""Data in volumes is never lost by anything but an explicit `down -v` / `rm -v` / `volume rm`:
a file written into a named volume by the service survives `down`, `up --force-recreate`, a
recreate after a config change, `rm -f`, `--remove-orphans`, a SIGKILL of the supervisor
followed by `down`; an anonymous volume's data survives recreates (docker compose hands it to
the new container) and `down`, and goes with `down -v` / `rm -v`."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_cli

STACK = """
services:
  {service}:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    environment: {{V: "{version}"}}
    volumes:
      - data:/data
      - /anon
volumes:
  data:
"""


@dataclass
class Stack:
    directory: Path
    root: Path
    name: str
    service: str = "db"

    def write(self, service: str = "db", version: str = "1") -> None:
        self.service = service
        (self.directory / "compose.yaml").write_text(
            STACK.format(service=service, version=version)
        )

    def cli(self, *args: str) -> str:
        result = run_cli(["-p", self.name, *args], cwd=self.directory, root=self.root)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    def sh(self, script: str) -> str:
        return self.cli("exec", "-T", self.service, "sh", "-c", script)

    def read(self, path: str) -> str:
        return self.sh(f"cat {path} 2>/dev/null || echo MISSING").strip()

    def volumes(self) -> set[str]:
        return set(self.cli("volume", "ls", "-q").split())

    def named_volume_file(self) -> Path:
        return self.root / "volumes" / f"{self.name}_data" / "_data" / "f"


@pytest.fixture
def stack(tmp_path: Path, busybox_tarball: Path) -> Iterator[Stack]:
    root = tmp_path / "root"
    imported = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=root
    )
    assert imported.returncode == 0, imported.stderr
    made = Stack(tmp_path, root, f"safe{uuid.uuid4().hex[:8]}")
    made.write()
    yield made
    run_cli(["-p", made.name, "down", "-v", "-t", "0", "--remove-orphans"],
            cwd=tmp_path, root=root)
    assert list((root / "containers").iterdir()) == []


def _supervisor_pid(stack: Stack) -> int:
    from engine.api import Engine

    (info,) = Engine(stack.root).list_containers({"com.docker.compose.project": stack.name})
    assert info.state.supervisor_pid
    return info.state.supervisor_pid


def test_named_volume_data_survives_everything_but_down_v(stack: Stack) -> None:
    stack.cli("up", "-d")
    stack.sh("echo kept > /data/f")

    stack.cli("down", "-t", "0")
    stack.cli("up", "-d")
    assert stack.read("/data/f") == "kept", "lost by down + up"

    stack.cli("up", "-d", "--force-recreate")
    assert stack.read("/data/f") == "kept", "lost by up --force-recreate"

    stack.write(version="2")  # a config change: the container is recreated
    stack.cli("up", "-d")
    assert stack.read("/data/f") == "kept", "lost by a recreate after a config change"

    stack.cli("rm", "-s", "-f")
    stack.cli("up", "-d")
    assert stack.read("/data/f") == "kept", "lost by rm -s -f"

    stack.write(service="db2")  # db is now an orphan
    stack.cli("up", "-d", "--remove-orphans")
    assert stack.read("/data/f") == "kept", "lost by up --remove-orphans"

    os.kill(_supervisor_pid(stack), signal.SIGKILL)
    time.sleep(0.2)
    stack.cli("down", "-t", "0")
    assert stack.named_volume_file().read_text() == "kept\n", "lost by down after a crash"
    stack.cli("up", "-d")
    assert stack.read("/data/f") == "kept"

    stack.cli("down", "-v", "-t", "0")
    assert f"{stack.name}_data" not in stack.volumes()
    assert not stack.named_volume_file().exists()


def test_anonymous_volume_data_follows_recreates_and_goes_with_v(stack: Stack) -> None:
    stack.cli("up", "-d")
    stack.sh("echo anon > /anon/f")
    stack.cli("up", "-d", "--force-recreate")
    assert stack.read("/anon/f") == "anon", "lost by up --force-recreate"
    stack.write(version="2")
    stack.cli("up", "-d")
    assert stack.read("/anon/f") == "anon", "lost by a recreate after a config change"

    anonymous = stack.volumes() - {f"{stack.name}_data"}
    assert len(anonymous) == 1
    stack.cli("down", "-t", "0")  # plain down: an anonymous volume is not removed either
    assert anonymous <= stack.volumes()

    stack.cli("up", "-d")  # a fresh container gets a fresh anonymous volume (as compose)
    assert stack.read("/anon/f") == "MISSING"
    current = stack.volumes() - {f"{stack.name}_data"} - anonymous
    assert len(current) == 1
    stack.cli("rm", "-s", "-f", "-v")
    assert not current & stack.volumes(), "rm -v keeps the anonymous volume"
    assert f"{stack.name}_data" in stack.volumes()  # rm -v never takes a named volume

    stack.cli("up", "-d")
    stack.cli("down", "-v", "-t", "0")
    assert stack.volumes() - anonymous == set(), "down -v leaves volumes"


class _Killed(BaseException):
    """Stands for the CLI dying (kill -9) at one step of a recreate."""


@pytest.mark.parametrize("dies_at", ["create_container", "remove_container"])
def test_a_recreate_killed_half_way_loses_no_anonymous_data(stack: Stack, dies_at: str) -> None:
    """The replacement takes over the old container's anonymous volume before the old one is
    removed (Docker's order): the CLI dying at either step leaves the old container, and the
    next `up` hands its volume on. Before, the old one went first, and a kill before the new
    one was made left the data in a dangling volume that `volume prune` deletes."""
    from compose.errors import ComposeError
    from compose.loader import load_project
    from compose.model import LoadOptions
    from compose.orchestrator import Orchestrator, UpOptions
    from engine.api import Engine

    stack.cli("up", "-d")
    stack.sh("echo anon > /anon/f")
    stack.write(version="2")  # a config change: `up` recreates

    def die(*_args: object, **_kwargs: object) -> None:
        raise _Killed

    dying = Engine(stack.root)
    setattr(dying, dies_at, die)
    project = load_project(LoadOptions(project_name=stack.name, cwd=stack.directory))
    with pytest.raises((_Killed, ComposeError)):  # the scheduler reports a worker's end
        Orchestrator(dying, project).up(UpOptions(timeout=0))
    stack.cli("up", "-d")
    assert stack.read("/anon/f") == "anon", "a kill between create and remove lost the data"
    names = stack.cli("ps", "-a", "--format", "{{.Name}}").split()
    assert names == [f"{stack.name}-db-1"], names


RACE = "services:\n" + "".join(
    f"  s{i}:\n    image: busybox\n    command: [sleep, '300']\n    stop_grace_period: 0s\n"
    "    volumes: [/anon]\n" for i in range(6))


def test_two_concurrent_ups_leave_one_anonymous_volume_per_container(stack: Stack) -> None:
    """The loser of two `up`s racing for the same container names loses its creates (and
    starts the winner's containers); the anonymous volumes it made for them are removed again
    (they are new and nobody's), so every anonymous volume left belongs to a container."""
    import subprocess

    from tests.conftest import PYCOMPOSE

    (stack.directory / "compose.yaml").write_text(RACE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    for _round in range(3):  # bounded: a race that does not happen in one may in the next
        racers = [
            subprocess.Popen([PYCOMPOSE, "-p", stack.name, "up", "-d"], cwd=stack.directory,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
            for _ in range(2)
        ]
        # each may lose some names to the other: between them, every container is made once
        errors = [racer.communicate(timeout=120)[1] for racer in racers]
        containers = stack.cli("ps", "-a", "-q").split()
        assert len(containers) == 6, errors
        assert len(stack.volumes()) == 6, (errors, stack.volumes())
        stack.cli("down", "-v", "-t", "0")
        assert stack.volumes() == set()
