"""What a RUN step stages on the host is cleaned up: its own temp dirs at the end of the
step, a killed build's leftovers at the next build; mount points it made stay out of the
layer (no root needed: plain directories stand in for the overlay's upper dir)."""

from __future__ import annotations

import os
from pathlib import Path

from engine.builder.layers import MergedView
from engine.builder.mount_staging import MountStaging, sweep_stale
from engine.builder.run_mounts import parse_mount
from engine.builder.run_step import mount_stubs
from engine.commit import remove_mount_stubs
from engine.processes import start_time


def test_staged_files_go_at_the_end_and_leftovers_of_dead_builds_at_the_next(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "builder" / "tmp"
    tmp.mkdir(parents=True)
    dead = tmp / "999999999.12-abc"  # no such pid
    mine = tmp / f"{os.getpid()}.{start_time(os.getpid())}-def"
    reused = tmp / f"{os.getpid()}.1-ghi"  # this pid, but another process's start time
    for path in (dead, mine, reused):
        path.mkdir()
    sweep_stale(tmp_path)
    assert sorted(p.name for p in tmp.iterdir()) == [mine.name]
    source = tmp_path / "ctx"
    source.mkdir()
    (source / "f.txt").write_text("x")
    with MountStaging(tmp_path) as staging:
        bind = staging.bind(parse_mount("target=/src", str, "/"),
                            [(".", source), ("f.txt", source / "f.txt")])
        script = staging.script_dir("/dev/pipes", "EOF", "#!/bin/sh\necho\n")
        assert bind.read_only and Path(bind.source, "f.txt").read_text() == "x"
        assert os.stat(Path(script.source, "EOF")).st_mode & 0o777 == 0o755
    assert not Path(bind.source).exists() and not Path(script.source).exists()
    assert sorted(p.name for p in tmp.iterdir()) == [mine.name]


def test_mount_points_the_image_lacked_are_dropped_while_empty(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    (layer / "etc").mkdir(parents=True)
    view = MergedView([layer])
    stubs = mount_stubs(view, ["/run/secrets/token", "/etc/app/key", "/etc"])
    assert stubs == ("run", "run/secrets", "run/secrets/token", "etc/app", "etc/app/key")
    upper = tmp_path / "upper"
    (upper / "run" / "secrets").mkdir(parents=True)
    (upper / "run" / "secrets" / "token").write_text("")
    (upper / "etc" / "app").mkdir(parents=True)
    (upper / "etc" / "app" / "written-by-the-command").write_text("kept")
    remove_mount_stubs(upper, stubs)
    assert not (upper / "run").exists()
    assert (upper / "etc" / "app" / "written-by-the-command").read_text() == "kept"


def test_cache_mount_dirs_by_id_base_and_sharing(tmp_path: Path) -> None:
    shared = parse_mount("type=cache,target=/c,id=pkgs", str, "/")
    private = parse_mount("type=cache,target=/c,id=pkgs,sharing=private", str, "/")
    other_mode = parse_mount("type=cache,target=/c,id=pkgs,mode=0700", str, "/")
    with MountStaging(tmp_path) as first, MountStaging(tmp_path) as second:
        a = first.cache(shared, None, "")
        Path(a.source, "kept").write_text("between builds")
        assert second.cache(shared, None, "").source == a.source  # shared: the same dir
        held = first.cache(private, None, "")
        busy = second.cache(private, None, "")
        assert busy.source != held.source and not Path(busy.source, "kept").exists()
        made = second.cache(other_mode, None, "")
        assert made.source != a.source and os.stat(made.source).st_mode & 0o777 == 0o700
    with MountStaging(tmp_path) as later:
        assert Path(later.cache(shared, None, "").source, "kept").read_text() == "between builds"
        assert later.cache(private, None, "").source == held.source  # free again: reused
