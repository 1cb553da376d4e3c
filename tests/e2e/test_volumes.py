"""Named volumes as users see them: copy-up from the image on first use, `volume` commands,
and data that only an explicit command removes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def root(tmp_path: Path, busybox_tarball: Path) -> Path:
    data_root = tmp_path / "root"
    imported = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=data_root
    )
    assert imported.returncode == 0, imported.stderr
    return data_root


@pytest.fixture
def stack(tmp_path: Path, root: Path):
    directory = tmp_path / "vols"
    directory.mkdir()
    (directory / "host-dir").mkdir()
    (directory / "compose.yaml").write_text(
        """
services:
  app:
    image: busybox
    command: ["sh", "-c", "ls /etc/passwd /bound; cat /etc/marker 2>/dev/null; exec sleep 60"]
    stop_grace_period: 0s
    volumes:
      - config:/etc
      - ./host-dir:/bin-overlay-test
      - ./host-dir:/bound
      - /scratch
volumes:
  config:
"""
    )
    name = f"vols{uuid.uuid4().hex[:8]}"
    yield directory, name
    run_cli(["-p", name, "down", "-v", "-t", "0"], cwd=directory, root=root)


def cli(stack: tuple[Path, str], root: Path, *args: str) -> str:
    directory, name = stack
    result = run_cli(["-p", name, *args], cwd=directory, root=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_empty_volume_is_populated_from_the_image_once(stack: tuple[Path, str], root: Path) -> None:
    directory, name = stack
    cli(stack, root, "up", "-d")
    volume_dir = root / "volumes" / f"{name}_config" / "_data"
    assert (volume_dir / "passwd").read_text().startswith("root:")
    assert list((directory / "host-dir").iterdir()) == []  # bind mounts are never populated
    # Later uses keep what the volume holds: no second copy-up over the user's data.
    (volume_dir / "passwd").unlink()
    (volume_dir / "marker").write_text("kept\n")
    cli(stack, root, "up", "-d", "--force-recreate")
    assert not (volume_dir / "passwd").exists()
    assert (volume_dir / "marker").read_text() == "kept\n"


def test_volume_commands(stack: tuple[Path, str], root: Path) -> None:
    directory, name = stack
    cli(stack, root, "up", "-d")
    listed = cli(stack, root, "volume", "ls", "-q").split()
    assert f"{name}_config" in listed
    doc = json.loads(cli(stack, root, "volume", "inspect", f"{name}_config"))[0]
    assert doc["Name"] == f"{name}_config" and doc["Driver"] == "local"
    assert doc["Labels"]["com.docker.compose.project"] == name
    refused = run_cli(["volume", "rm", f"{name}_config"], cwd=directory, root=root)
    assert refused.returncode == 1 and "in use" in refused.stderr
    cli(stack, root, "down", "-t", "0")
    # Named volumes outlive `down`; `volume prune` without -a leaves them too.
    cli(stack, root, "volume", "prune", "-f")
    assert f"{name}_config" in cli(stack, root, "volume", "ls", "-q").split()
    cli(stack, root, "volume", "rm", f"{name}_config")
    assert f"{name}_config" not in cli(stack, root, "volume", "ls", "-q").split()


def test_run_v_short_syntax_creates_the_missing_host_dir(
    stack: tuple[Path, str], root: Path
) -> None:
    """`docker compose run -v ./newdir:/x` makes ./newdir (short syntax: create_host_path)."""
    directory, _name = stack
    assert not (directory / "newdir").exists()
    cli(stack, root, "run", "--rm", "-v", "./newdir/deeper:/x", "app",
        "sh", "-c", "echo hi > /x/made-inside")
    assert (directory / "newdir" / "deeper" / "made-inside").read_text() == "hi\n"
