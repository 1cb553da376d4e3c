"""Where the builder finds a source through symlinks (no root needed): in the build context
and in a stage's layers, links are followed inside that root only (an absolute link from its
root, ``..`` stopping there), what .dockerignore leaves out is not there, and a mount point a
step moved away is not cleaned up through a link. A "host" dir beside the root stands for
the host's files, which must never show up."""

from __future__ import annotations

from pathlib import Path

from engine.builder.context import BuildContext
from engine.builder.layers import MergedView
from engine.builder.run_step import mount_stubs
from engine.commit import remove_mount_stubs


def _host(tmp_path: Path) -> Path:
    host = tmp_path / "host"
    host.mkdir()
    (host / "file").write_text("host")
    return host


def test_context_links_are_followed_inside_the_context_only(tmp_path: Path) -> None:
    host = _host(tmp_path)
    ctx = tmp_path / "ctx"
    (ctx / "real" / "sub").mkdir(parents=True)
    (ctx / "real" / "sub" / "file").write_text("inside")
    (ctx / "out").symlink_to(host)
    (ctx / "up").symlink_to("../../host")
    (ctx / "abs").symlink_to("/real/sub")
    (ctx / "loop").symlink_to("loop")
    context = BuildContext(ctx)
    for pattern in ("out", "out/file", "out/*", "up/file", "loop", "loop/x"):
        assert context.resolve(pattern) == [], pattern
        assert list(context.walk(pattern)) == [], pattern
    assert context.resolve("abs/file") == ["abs/file"]
    assert list(context.walk("abs")) == [("abs", ctx / "real" / "sub"),
                                         ("abs/file", ctx / "real" / "sub" / "file")]
    assert context.resolve("abs/*") == ["abs/file"]
    assert context.resolve("*/sub/file") == ["real/sub/file"]  # a link on the way: not walked
    # An absolute link means the context's path of that name, once there is one.
    inside = ctx / str(host).lstrip("/")
    inside.mkdir(parents=True)
    (inside / "file").write_text("inside too")
    assert list(context.walk("out/file")) == [("out/file", inside / "file")]


def test_ignored_links_and_targets_are_not_in_the_context(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "dir").mkdir(parents=True)
    for name in ("a.txt", "keep.txt", "secret.key"):
        (ctx / "dir" / name).write_text(name)
    (ctx / "link").symlink_to("dir")
    (ctx / "key").symlink_to("dir/secret.key")
    (ctx / ".dockerignore").write_text("link\n!link/a.txt\ndir/secret.key\ndir\n!dir/keep.txt\n")
    context = BuildContext(ctx)
    assert context.resolve("link/a.txt") == []  # the ignored link is not there to follow
    assert context.resolve("key") == []
    assert context.resolve("dir/secret.key") == []
    assert context.resolve("dir/*.txt") == ["dir/keep.txt"]  # re-included below an ignored dir


def test_stage_links_are_followed_inside_the_image_only(tmp_path: Path) -> None:
    host = _host(tmp_path)
    lower = tmp_path / "lower"
    upper = tmp_path / "upper"
    (lower / "usr" / "lib").mkdir(parents=True)
    (lower / "usr" / "lib" / "libx.so.1").write_text("lib")
    (lower / "usr" / "lib" / "libx.so").symlink_to("libx.so.1")
    (lower / "lib").symlink_to("/usr/lib")
    (lower / "hostdir").symlink_to(host)
    (lower / "data").symlink_to(host)  # a link in a lower layer, a directory above it
    (upper / "data").mkdir(parents=True)
    view = MergedView([upper, lower])
    assert list(view.walk("hostdir")) == list(view.walk("hostdir/file")) == []
    assert view.lookup("data/file") is None and view.listdir("data") == []
    assert list(view.walk("lib/libx.so")) == [("lib/libx.so",
                                               lower / "usr" / "lib" / "libx.so.1")]
    assert [name for name, _ in view.walk("/lib")] == ["lib", "lib/libx.so", "lib/libx.so.1"]
    # A RUN --mount target through the image's link has its mount point where it resolves.
    assert mount_stubs(view, ["/lib/new/dir"]) == ("usr/lib/new", "usr/lib/new/dir")


def test_mount_points_moved_away_are_not_removed_through_a_link(tmp_path: Path) -> None:
    host = tmp_path / "host"
    (host / "sub").mkdir(parents=True)
    (host / "sub" / "token").write_text("")
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "stub").symlink_to(host)  # the step moved its mount points away, then linked
    remove_mount_stubs(upper, ("stub", "stub/sub", "stub/sub/token"))
    assert (host / "sub" / "token").is_file()
    assert (upper / "stub").is_symlink()
