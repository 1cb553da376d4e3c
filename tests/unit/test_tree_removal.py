"""engine.tree_removal.remove_tree: shutil.rmtree(ignore_errors=True) without shutil."""

from __future__ import annotations

import os
from pathlib import Path

from engine.tree_removal import remove_tree


def test_a_tree_with_links_goes_and_what_the_links_point_to_stays(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("kept")
    tree = tmp_path / "tree"
    (tree / "a" / "b" / "c").mkdir(parents=True)
    (tree / "a" / "b" / "c" / "deep").write_text("x")
    (tree / "a" / "file").write_text("y")
    os.mkfifo(tree / "a" / "fifo")
    (tree / "a" / "to-dir").symlink_to(outside / "keep")  # listed as a directory by fwalk
    (tree / "to-file").symlink_to(outside / "keep" / "file")
    (tree / "dangling").symlink_to(tmp_path / "nowhere")
    (tree / "empty").mkdir()
    remove_tree(tree)
    assert not tree.exists() and not tree.is_symlink()
    assert (outside / "keep" / "file").read_text() == "kept"


def test_a_link_given_as_the_tree_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "file").write_text("kept")
    link = tmp_path / "link"
    link.symlink_to(target)
    remove_tree(link)
    assert link.is_symlink() and (target / "file").read_text() == "kept"


def test_a_missing_tree_is_no_error(tmp_path: Path) -> None:
    remove_tree(tmp_path / "gone")
    remove_tree(str(tmp_path / "gone"))
