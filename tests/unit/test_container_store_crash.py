"""A CLI killed with SIGKILL anywhere inside `ContainerStore.create` or `delete` leaves nothing
a user would trip over: the next list sweeps the half-made record, `containers/` ends empty,
and the name is free again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.containers import NAMES_DIR, ContainerSpec, ContainerStore
from engine.layout import Layout

# Runs in a child: patch one step of create/delete so the process SIGKILLs itself right there.
CHILD = r"""
import os, signal, sys
from pathlib import Path
import engine.atomic_files as af
import engine.containers as c
from engine.layout import Layout

root, point, action = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
store = c.ContainerStore(Layout(root))
store.find("web-0")  # builds the name index before any step is patched

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point.startswith("write:"):
    wanted = point.split(":", 1)[1]
    real_write = c.write_json
    def write_json(path, value, **options):
        if path.name == wanted:  # the temp file exists, the rename never happens
            (path.parent / f".{path.name}.{os.getpid()}.tmp").write_text("{")
            die()
        real_write(path, value, **options)
    c.write_json = write_json
elif point == "symlink":
    real_symlink = os.symlink
    def symlink(src, dst, *a, **k):
        real_symlink(src, dst, *a, **k)
        die()
    c.os.symlink = symlink
elif point == "rename":
    def rename(src, dst):
        die()
    c.os.rename = rename
elif point == "rmtree":
    def remove_tree(path):
        for entry in sorted(os.listdir(path))[:1]:  # a part of the record is already gone
            os.unlink(os.path.join(path, entry))
        die()
    c.remove_tree = remove_tree

spec = c.ContainerSpec(name="web-1", image="busybox")
if action == "create":
    store.create(spec, "sha256:" + "0" * 64)
else:
    store.delete(store.get("web-1").id)
"""


def _crash(root: Path, point: str, action: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), point, action],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == -9, result.stderr


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "root")
    layout.ensure()
    return layout


def _leftovers(layout: Layout) -> tuple[list[str], list[str]]:
    names = layout.root / NAMES_DIR
    return (
        sorted(os.listdir(layout.containers)),
        sorted(os.listdir(names)) if names.is_dir() else [],
    )


@pytest.mark.parametrize(
    "point", ["write:config.json", "symlink", "rename"]
)
def test_create_killed_half_way_leaves_nothing_after_the_next_list(
    layout: Layout, point: str
) -> None:
    _crash(layout.root, point, "create")
    assert _leftovers(layout)[0], "the crash left a half-made record (else this test is moot)"
    store = ContainerStore(layout)
    assert store.all() == []  # `ps`/`down` see no container...
    assert _leftovers(layout) == ([], [])  # ...and containers/ and the name index end empty
    record = store.create(ContainerSpec(name="web-1", image="busybox"), "sha256:" + "0" * 64)
    assert store.get("web-1").id == record.id


def test_create_killed_half_way_is_swept_by_the_next_create(layout: Layout) -> None:
    _crash(layout.root, "rename", "create")
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), "sha256:" + "0" * 64)
    assert _leftovers(layout) == ([record.id], ["web-1"])


def test_delete_killed_half_way_is_finished_by_the_next_list(layout: Layout) -> None:
    store = ContainerStore(layout)
    store.create(ContainerSpec(name="web-1", image="busybox"), "sha256:" + "0" * 64)
    _crash(layout.root, "rmtree", "delete")
    fresh = ContainerStore(layout)
    assert fresh.all() == []
    assert _leftovers(layout) == ([], [])


def test_record_of_a_legacy_crashed_create_is_swept(layout: Layout) -> None:
    """A data root written by the old create (state tmp file only, then killed)."""
    assert ContainerStore(layout).find("web-1") is None  # (builds the empty index)
    orphan = layout.container_dir("e" * 64)
    orphan.mkdir()
    (orphan / ".state.json.999999999.tmp").write_text("{")
    os.symlink("e" * 64, layout.root / NAMES_DIR / "web-1")
    assert ContainerStore(layout).all() == []
    assert _leftovers(layout) == ([], [])


def test_a_live_writers_temp_dir_is_left_alone(layout: Layout) -> None:
    store = ContainerStore(layout)
    busy = layout.containers / f".new-{'a' * 64}.{os.getpid()}-0"
    busy.mkdir()
    assert store.sweep() == 0
    assert busy.is_dir()
    busy.rmdir()
