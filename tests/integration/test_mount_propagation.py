"""`bind.propagation` as a user observes it: a mount the host makes under a bind source after
the container started shows up inside the container with `rslave`/`rshared` (and `slave`),
never with `private`; a propagation the host mount cannot give is refused clearly."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import Engine, MountKind, MountSpec
from engine.errors import InvalidArgumentError
from engine.mount_propagation import check_source
from tests.integration.runtime_helpers import output_of, sh

# Waits (bounded) for the host's mount to appear under /x, then reports what it saw.
SCRIPT = (
    "echo ready; i=0; while [ $i -lt {tries} ]; do "
    "if [ -e /x/sub/marker ]; then echo seen; exit 0; fi; i=$((i+1)); sleep 0.1; done; "
    "echo unseen"
)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@pytest.fixture
def shared_source(tmp_path: Path) -> Iterator[Path]:
    """A host directory on a shared mount of its own (this host's / is private)."""
    source = tmp_path / "src"
    source.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1m", "prop-test", str(source))
    try:
        _mount("--make-shared", str(source))
        (source / "sub").mkdir()
        yield source
    finally:
        _umount(source / "sub")
        _umount(source)


def _wait_for(engine: Engine, container_id: str, text: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in output_of(engine, container_id):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never printed: {output_of(engine, container_id)!r}")


@pytest.mark.parametrize(
    ("propagation", "expected"),
    [("rslave", "seen"), ("rshared", "seen"), ("slave", "seen"), ("private", "unseen")],
)
def test_host_mount_under_the_source_reaches_the_container_as_asked(
    engine_with_busybox: Engine, shared_source: Path, propagation: str, expected: str
) -> None:
    engine = engine_with_busybox
    tries = 100 if expected == "seen" else 20
    spec = sh(
        f"prop-{propagation}-{uuid.uuid4().hex[:6]}", SCRIPT.format(tries=tries),
        mounts=(MountSpec(MountKind.BIND, "/x", str(shared_source), propagation=propagation),),
    )
    info = engine.create_container(spec)
    try:
        engine.start_container(info.id)
        _wait_for(engine, info.id, "ready")
        # After the start: only propagation can bring this mount into the container.
        _mount("-t", "tmpfs", "-o", "size=1m", "prop-sub", str(shared_source / "sub"))
        (shared_source / "sub" / "marker").write_text("x")
        code = engine.wait_container(info.id, timeout=30)
        assert code == 0
        assert output_of(engine, info.id).split() == ["ready", expected]
    finally:
        engine.remove_container(info.id, force=True)


def test_slave_bind_of_a_private_host_mount_is_refused_naming_the_target(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    """Docker's rule: the host must be able to propagate (here / is a private mount)."""
    if check_source(str(tmp_path), "rslave") is None:
        pytest.skip("this host's temp dir is on a shared mount")
    engine = engine_with_busybox
    spec = sh(
        f"prop-private-host-{uuid.uuid4().hex[:6]}", "true",
        mounts=(MountSpec(MountKind.BIND, "/x", str(tmp_path), propagation="rslave"),),
    )
    info = engine.create_container(spec)
    try:
        with pytest.raises(InvalidArgumentError, match="/x: bind propagation rslave needs"):
            engine.start_container(info.id)
    finally:
        engine.remove_container(info.id, force=True)
