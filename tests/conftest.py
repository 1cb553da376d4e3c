"""Shared fixtures: a private engine data root per test, the busybox image, and the leak check.

Kernel-touching tests are marked `root` and skipped without root. The session-wide leak check
compares kernel objects before and after the whole run: links, mounts, cgroups, named netns
and supervisor processes made by the suite must all be gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures_images import busybox_tarball  # noqa: F401  (re-exported fixture)
from tests.leaks import kernel_snapshot

LEAK_GRACE_SECONDS = 5.0

IS_ROOT = os.geteuid() == 0
# The `pycompose` installed next to the running Python (the project's venv), else from PATH.
_BESIDE = Path(sys.executable).parent / "pycompose"
PYCOMPOSE = str(_BESIDE) if _BESIDE.exists() else "pycompose"
# Tests (and the shell lines the pytest plugin prints for users) call plain `pycompose`: make it
# the venv's one even when the venv is not activated, as in CI's `./tests/run.sh`.
if _BESIDE.exists():
    os.environ["PATH"] = f"{_BESIDE.parent}{os.pathsep}{os.environ.get('PATH', '')}"
# A shell started in the background (CI runners, `cmd &`) ignores SIGINT, and an ignored signal
# stays ignored across exec: the CLIs and pytest runs the tests interrupt with SIGINT would never
# see it. A handler (unlike SIG_IGN) is reset to the default at exec, so children get Ctrl-C back.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs root and the real kernel")
    for item in items:
        in_kernel_layer = any(part in ("integration", "e2e") for part in item.path.parts)
        if in_kernel_layer:
            item.add_marker(pytest.mark.root)
        if not IS_ROOT and (in_kernel_layer or item.get_closest_marker("root")):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def no_kernel_leaks() -> Iterator[None]:
    """Fail the session if it leaves links, mounts, cgroups, netns or processes behind."""
    # Several engineers' runs on one machine see each other's objects: they may opt out.
    # CI never sets this.
    if not IS_ROOT or os.environ.get("PYCOMPOSE_TEST_NO_LEAK_CHECK"):
        yield
        return
    before = kernel_snapshot()
    yield
    from engine.supervisor_spawner import SPAWNER

    SPAWNER.close()  # this process's supervisor fork server is not a leak
    # What goes on its own is not a leak: a data root's DNS resolver leaves a moment after the
    # last network's removal nudged it (it answers the nudge first), the kernel frees a
    # namespace's links once its last user is gone. Bounded: 5 s.
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    leaked = kernel_snapshot().leaked_since(before)
    while leaked and time.monotonic() < deadline:
        time.sleep(0.1)
        leaked = kernel_snapshot().leaked_since(before)
    assert not leaked, f"the test suite leaked kernel objects: {leaked}"


@pytest.fixture
def engine_root(tmp_path: Path) -> Iterator[Path]:
    """A private data root; everything the test left running is torn down afterwards."""
    from engine.api import Engine

    root = tmp_path / "pycompose-root"
    yield root
    if root.exists():
        engine = Engine(root)
        for info in engine.list_containers():
            engine.remove_container(info.id, force=True)
        for network in engine.networks.list_networks():
            engine.remove_network(network.name)


@pytest.fixture
def engine_with_busybox(engine_root: Path, busybox_tarball: Path):  # noqa: F811
    """An Engine on a private root with `busybox:latest` imported."""
    from engine.api import Engine

    engine = Engine(engine_root)
    engine.import_image(busybox_tarball, "busybox:latest")
    return engine


def run_cli(
    args: list[str],
    *,
    cwd: Path,
    root: Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `pycompose` command as a user would type it: `input` on its stdin, else
    an empty one (an attached `run` reads the caller's stdin, as docker compose's does)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    full_env["PYCOMPOSE_ROOT"] = str(root)
    full_env.update(env or {})
    return subprocess.run(
        [PYCOMPOSE, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout, check=False, input=input,
        stdin=subprocess.DEVNULL if input is None else None,
    )
