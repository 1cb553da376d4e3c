"""Finding the host's docker-init, the argv it is given, and where its mount point goes in an
image whose directories are symlinks (never on the host)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import docker_init
from engine.root_paths import resolve_in_root
from engine.runtime_spec import ProcessSpec


def _executable(path: Path) -> Path:
    path.write_bytes(b"\x7fELF")
    path.chmod(0o755)
    return path


def test_first_usable_candidate_wins_with_links_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _executable(tmp_path / "tini-static")
    (tmp_path / "docker-init").symlink_to("tini-static")
    not_executable = tmp_path / "plain"
    not_executable.write_bytes(b"")
    monkeypatch.delenv(docker_init.ENV_OVERRIDE, raising=False)
    monkeypatch.setattr(docker_init, "CANDIDATES", (
        str(tmp_path / "missing"), str(not_executable), str(tmp_path / "docker-init"),
    ))
    assert docker_init.find_init_binary() == str(real)


def test_no_candidate_means_the_builtin_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(docker_init.ENV_OVERRIDE, raising=False)
    monkeypatch.setattr(docker_init, "CANDIDATES", (str(tmp_path / "missing"),))
    assert docker_init.find_init_binary() is None


def test_the_override_replaces_the_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = _executable(tmp_path / "my-init")
    monkeypatch.setattr(docker_init, "CANDIDATES", (str(_executable(tmp_path / "other")),))
    monkeypatch.setenv(docker_init.ENV_OVERRIDE, str(mine))
    assert docker_init.find_init_binary() == str(mine)
    monkeypatch.setenv(docker_init.ENV_OVERRIDE, "")
    assert docker_init.find_init_binary() is None


def test_docker_init_runs_the_command_after_a_double_dash() -> None:
    process = ProcessSpec(args=("--help", "x"), env=("A=1",), cwd="/w", uid=7, gid=8)
    wrapped = docker_init.init_process(process, pid_1=True)
    assert wrapped.args == ("/sbin/docker-init", "--", "--help", "x")
    assert (wrapped.env, wrapped.cwd, wrapped.uid, wrapped.gid) == (("A=1",), "/w", 7, 8)
    assert docker_init.init_process(process, pid_1=False).args[:3] == (
        "/sbin/docker-init", "-s", "--"
    )


def test_mount_point_follows_image_links_inside_the_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "sbin").symlink_to("/usr/sbin")  # absolute: would mean the host's /usr/sbin
    assert resolve_in_root(str(root), "/sbin/docker-init") == str(root / "usr/sbin/docker-init")
    (root / "usr" / "sbin").rmdir()
    (root / "usr" / "sbin").symlink_to("../../../../../etc")  # climbing out stops at the root
    assert resolve_in_root(str(root), "/sbin/docker-init") == str(root / "etc/docker-init")


def test_a_link_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sbin").symlink_to("sbin")
    with pytest.raises(OSError, match="too many levels"):
        resolve_in_root(str(tmp_path), "/sbin/docker-init")
