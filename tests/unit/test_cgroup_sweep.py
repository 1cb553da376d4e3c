"""Container cgroups a killed supervisor left are swept by the next `up`: only the engine's
own, only empty ones, only old ones (a start in progress makes one empty for a moment)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine.cgroup_sweep import sweep_orphan_cgroups

OLD = time.time() - 3600


def _group(parent: Path, name: str, procs: str = "", old: bool = True) -> Path:
    path = parent / name
    path.mkdir(parents=True)
    (path / "cgroup.procs").write_text(procs)
    if old:
        os.utime(path, (OLD, OLD))
    return path


def test_v1_an_old_empty_container_group_goes_from_every_controller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orphan, busy, young = "a" * 64, "b" * 64, "c" * 64
    for controller in ("memory", "pids", "cpu"):
        parent = tmp_path / controller / "pycompose"
        _group(parent, orphan)
        _group(parent, busy, procs="4242\n")
        _group(parent, young, old=False)
        _group(parent, "not-a-container")
    removed = _sweep_with_control_files(tmp_path, orphan, monkeypatch)
    assert removed == [orphan]
    for controller in ("memory", "pids", "cpu"):
        names = sorted(p.name for p in (tmp_path / controller / "pycompose").iterdir())
        assert names == sorted([busy, young, "not-a-container"])


def test_v2_one_directory_and_nothing_without_the_engines_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    assert sweep_orphan_cgroups(tmp_path, min_age=60) == []  # no pycompose/ here
    orphan = "d" * 64
    _group(tmp_path / "pycompose", orphan)
    assert _sweep_with_control_files(tmp_path, orphan, monkeypatch) == [orphan]
    assert not (tmp_path / "pycompose" / orphan).exists()


def _sweep_with_control_files(
    root: Path, orphan: str, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Run the sweep; the fake tree's control file would make rmdir fail, so it is taken out
    once the sweep has read it (the kernel's dirs need no such help)."""
    real_rmdir = os.rmdir

    def rmdir(path: object) -> None:
        target = Path(str(path))
        if target.name == orphan and (target / "cgroup.procs").exists():
            (target / "cgroup.procs").unlink()
        real_rmdir(target)

    monkeypatch.setattr(os, "rmdir", rmdir)
    return sweep_orphan_cgroups(root, min_age=60)
