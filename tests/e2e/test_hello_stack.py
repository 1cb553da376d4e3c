"""The first slice as a user types it: `pycompose up/ps/logs/down` on the examples/ stack."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.leaks import kernel_snapshot, new_links

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path, busybox_tarball: Path) -> Path:
    data_root = tmp_path / "root"
    result = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=data_root
    )
    assert result.returncode == 0, result.stderr
    return data_root


@pytest.fixture
def project(tmp_path: Path, root: Path):
    """A copy of examples/hello under a unique project name, always torn down."""
    directory = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", directory)
    name = f"hello{uuid.uuid4().hex[:8]}"
    yield directory, name
    run_cli(["-p", name, "down", "-v", "-t", "0"], cwd=directory, root=root)


def wait_exited(service: str, name: str, cwd: Path, root: Path) -> list[dict[str, object]]:
    for _ in range(200):  # bounded: 20 s
        rows = ps_json(name, cwd, root)
        if any(r["Service"] == service and r["State"] == "exited" for r in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"{service} never exited: {rows}")


def ps_json(name: str, cwd: Path, root: Path) -> list[dict[str, object]]:
    result = run_cli(["-p", name, "ps", "-a", "--format", "json"], cwd=cwd, root=root)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_demo_stack_up_ps_logs_down(project: tuple[Path, str], root: Path) -> None:
    directory, name = project
    up = run_cli(["-p", name, "up", "-d"], cwd=directory, root=root)
    assert up.returncode == 0, up.stderr
    rows = wait_exited("fetcher", name, directory, root)
    assert {r["Name"] for r in rows} == {f"{name}-web-1", f"{name}-fetcher-1"}
    table = run_cli(["-p", name, "ps"], cwd=directory, root=root).stdout
    assert table.splitlines()[0].split()[:4] == ["NAME", "IMAGE", "COMMAND", "SERVICE"]
    assert f"{name}-web-1" in table and "Up " in table
    logs = run_cli(["-p", name, "logs", "fetcher"], cwd=directory, root=root).stdout
    assert "fetcher-1  | fetched from web: hello from" in logs
    assert "visits recorded in the named volume: 1" in logs
    down = run_cli(["-p", name, "down", "-t", "0"], cwd=directory, root=root)
    assert down.returncode == 0, down.stderr
    assert ps_json(name, directory, root) == []

    # The named volume kept its data across down/up ...
    assert run_cli(["-p", name, "up", "-d"], cwd=directory, root=root).returncode == 0
    wait_exited("fetcher", name, directory, root)
    logs = run_cli(["-p", name, "logs", "fetcher"], cwd=directory, root=root).stdout
    assert "visits recorded in the named volume: 2" in logs
    # ... and `down -v` removes it, with everything else.
    assert run_cli(["-p", name, "down", "-v", "-t", "0"], cwd=directory, root=root).returncode == 0
    assert not any(p.name.startswith(name) for p in (root / "volumes").iterdir())
    assert list((root / "containers").iterdir()) == []
    assert not list((root / "networks").rglob(f"{name}_default*"))


def write_stack(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "compose.yaml"
    path.write_text(text)
    return path


def test_attached_up_prefixes_logs_and_ps_shows_exit_code(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "My_Attached.Stack"
    write_stack(
        directory,
        """
services:
  one:
    image: busybox
    command: ["sh", "-c", "echo first line; echo second line"]
  three:
    image: busybox
    depends_on: [one]
    entrypoint: ["sh", "-c"]
    command: ["echo bye; exit 3"]
""",
    )
    result = run_cli(["up"], cwd=directory, root=root, timeout=60)
    try:
        assert result.returncode == 0, result.stderr
        # project name from the directory, normalized like docker compose
        assert "my_attachedstack-one-1" in result.stderr
        assert "one-1    | first line" in result.stdout
        assert "three-1  | bye" in result.stdout
        ps = run_cli(["ps", "-a"], cwd=directory, root=root).stdout
        assert "Exited (3)" in ps and "Exited (0)" in ps
    finally:
        run_cli(["down", "-t", "0"], cwd=directory, root=root)


def test_failed_up_half_way_leaves_no_half_made_objects(tmp_path: Path, root: Path) -> None:
    """Like docker compose, what started stays (so `logs` can tell why); the container that
    failed to start holds no process, cgroup or veth; `down` then removes everything."""
    directory = tmp_path / "halfway"
    write_stack(
        directory,
        """
services:
  good:
    image: busybox
    command: ["sleep", "60"]
  bad:
    image: busybox
    depends_on: [good]
    command: ["/does/not/exist"]
""",
    )
    links_before = kernel_snapshot().links
    result = run_cli(["up", "-d"], cwd=directory, root=root)
    try:
        assert result.returncode != 0
        assert "halfway-bad-1" in result.stderr and "/does/not/exist" in result.stderr
        assert "Traceback" not in result.stderr
        states = {r["Service"]: r["State"] for r in ps_json("halfway", directory, root)}
        assert states == {"good": "running", "bad": "created"}
        bad_id = next(
            r["ID"] for r in ps_json("halfway", directory, root) if r["Service"] == "bad"
        )
        assert not [c for c in kernel_snapshot().cgroups if f"/{bad_id}" in c]
        assert len(new_links(links_before, root)) == 2  # the bridge and good's veth
    finally:  # a failed assertion must not leave the stack (and its bridge) behind
        down = run_cli(["down", "-t", "0"], cwd=directory, root=root)
    assert down.returncode == 0, down.stderr
    assert ps_json("halfway", directory, root) == []
    assert not new_links(links_before, root)
    assert not list((root / "networks").rglob("halfway_default*"))


def test_unknown_image_in_second_service_creates_nothing(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "unknownimg"
    write_stack(
        directory,
        """
services:
  good:
    image: busybox
    command: ["sleep", "60"]
  bad:
    image: no-such-image:1.0
    depends_on: [good]
""",
    )
    links_before = kernel_snapshot().links
    result = run_cli(["up", "-d"], cwd=directory, root=root)
    assert result.returncode != 0
    assert "bad" in result.stderr and "no-such-image" in result.stderr
    assert "Traceback" not in result.stderr
    assert ps_json("unknownimg", directory, root) == []
    assert not new_links(links_before, root)
    assert not list((root / "networks").rglob("unknownimg_default*"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  a:\n    image: busybox\n   command: x\n", "compose.yaml:4"),
        ('services:\n  a:\n    image: nosuchimage\n    command: ["true"]\n', "service a"),
        ("services:\n  a:\n    image: busybox\n    depends_on: [ghost]\n", "ghost"),
    ],
    ids=["yaml-syntax", "unknown-image", "unknown-dependency"],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, root: Path, text: str, expected: str) -> None:
    directory = tmp_path / "bad"
    write_stack(directory, text)
    result = run_cli(["up", "-d"], cwd=directory, root=root)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    containers = root / "containers"
    assert not containers.exists() or list(containers.iterdir()) == []
    assert not list((root / "networks").rglob("*.json"))


def test_missing_file_is_a_clear_error(tmp_path: Path, root: Path) -> None:
    result = run_cli(["up", "-d"], cwd=tmp_path, root=root)
    assert result.returncode != 0
    assert "no configuration file provided" in result.stderr
    result = run_cli(["-f", "nope.yaml", "ps"], cwd=tmp_path, root=root)
    assert result.returncode != 0 and "nope.yaml" in result.stderr
