"""A build never reads or writes a host file through a symlink: a link in the build context
or in a stage's layers is followed inside that root (BuildKit's ``fs.RootPath``), whether a
``RUN --mount`` binds it (read-only or ``rw``), COPY/ADD copies from it, a cache mount is
seeded from it or a mount point is cleaned up after the step; ``rw`` writes stay in the
step. Each test keeps a "victim" directory outside the context that must stay untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api import Engine
from engine.builder.errors import BuildError, DockerfileError
from tests.integration.test_build import _build, _run


def _victim(tmp_path: Path) -> Path:
    """A host directory outside the build context, with a file a build must never see."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_text("original\n")
    return victim


def _untouched(victim: Path) -> None:
    assert (victim / "file").read_text() == "original\n"
    assert sorted(p.name for p in victim.iterdir()) == ["file"]


def _in_context(ctx: Path, host_path: Path) -> Path:
    """Where an absolute link to `host_path` leads when resolved inside `ctx`."""
    return ctx / str(host_path).lstrip("/")


def test_a_context_link_leading_out_binds_no_host_file_read_only_or_rw(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine, victim = engine_with_busybox, _victim(tmp_path)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "ctxlink").symlink_to(victim)
    rw = ("FROM busybox\nRUN --mount=type=bind,source=ctxlink,target=/x,rw"
          " sh -c 'cat /x/file; echo OVERWRITTEN > /x/file; touch /x/newfile'\n")
    for dockerfile in (rw, rw.replace(",rw", ""),
                       "FROM busybox\nRUN --mount=source=ctxlink/file,target=/f cat /f\n"):
        with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN --mount: ctxlink.* not"
                           " found in the build context"):
            _build(engine, ctx, dockerfile, no_cache=True)
        _untouched(victim)
    # Resolved inside the context, the link's target is the context's own path of that name.
    inside = _in_context(ctx, victim)
    inside.mkdir(parents=True)
    (inside / "file").write_text("in the context\n")
    dockerfile = (
        "FROM busybox\n"
        "RUN --mount=type=bind,source=ctxlink,target=/x,rw"
        " sh -c 'cat /x/file > /rw; echo OVERWRITTEN > /x/file; touch /x/newfile'\n"
        "RUN --mount=source=ctxlink,target=/x cat /x/file > /ro\n"
        "RUN --mount=source=ctxlink/file,target=/f cat /f > /ro-file\n"
    )
    _build(engine, ctx, dockerfile, tags=("ctxlinkbind:1",), no_cache=True)
    assert _run(engine, "ctxlinkbind:1", "cat", "/rw", "/ro", "/ro-file") == (
        0, "in the context\n" * 3)
    _untouched(victim)
    assert (inside / "file").read_text() == "in the context\n"  # rw: the step's copy only
    assert sorted(p.name for p in inside.iterdir()) == ["file"]


def test_copy_and_add_through_a_context_link_leading_out_copy_no_host_file(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine, victim = engine_with_busybox, _victim(tmp_path)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "ctxlink").symlink_to(victim)
    for dockerfile in ("FROM busybox\nCOPY ctxlink/file /copied\n",
                       "FROM busybox\nADD ctxlink/file /added\n",
                       "FROM busybox\nCOPY ctxlink/* /globbed/\n",
                       "FROM busybox\nCOPY ctxlink /dir/\n"):
        with pytest.raises(BuildError, match=r"Dockerfile:2: (COPY|ADD) failed: file not found"
                           " in build context"):
            _build(engine, ctx, dockerfile, no_cache=True)
    # An ignored link is not in the context, even when a file below it is re-included.
    (ctx / ".dockerignore").write_text("ctxlink\n!ctxlink/file\n")
    with pytest.raises(BuildError, match=r"COPY failed: file not found in build context"):
        _build(engine, ctx, "FROM busybox\nCOPY ctxlink/file /copied\n", no_cache=True)
    (ctx / ".dockerignore").unlink()
    inside = _in_context(ctx, victim)
    inside.mkdir(parents=True)
    (inside / "file").write_text("in the context\n")
    dockerfile = (
        "FROM busybox\n"
        "COPY ctxlink/file /copied\n"
        "ADD ctxlink/file /added\n"
        "COPY ctxlink/* /globbed/\n"
        "COPY ctxlink /dir/\n"
    )
    _build(engine, ctx, dockerfile, tags=("ctxlinkcopy:1",), no_cache=True)
    assert _run(engine, "ctxlinkcopy:1", "cat", "/copied", "/added", "/globbed/file",
                "/dir/file") == (0, "in the context\n" * 4)
    _untouched(victim)


def test_links_that_stay_inside_the_context_are_followed(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    (ctx / "real" / "sub").mkdir(parents=True)
    (ctx / "real" / "a.txt").write_text("a\n")
    (ctx / "real" / "sub" / "b.txt").write_text("b\n")
    (ctx / "real" / "same").symlink_to("a.txt")  # a link inside a copied dir stays a link
    (ctx / "rel").symlink_to("real")
    (ctx / "abs").symlink_to("/real")  # absolute: the context's /real
    (ctx / "file-link").symlink_to("abs/sub/../a.txt")
    dockerfile = (
        "FROM busybox\n"
        "COPY rel/a.txt /from-rel\n"
        "COPY abs/sub/ /from-abs/\n"
        "COPY file-link /named/\n"
        "COPY abs /tree/\n"
        "RUN --mount=source=abs,target=/m,rw sh -c 'cat /m/a.txt /m/sub/b.txt > /mounted;"
        " echo changed > /m/a.txt; touch /m/new'\n"
        "RUN --mount=source=file-link,target=/f.txt cat /f.txt >> /mounted\n"
    )
    _build(engine, ctx, dockerfile, tags=("ctxlinkinside:1",))
    code, out = _run(engine, "ctxlinkinside:1", "sh", "-c",
                     "cat /from-rel /from-abs/b.txt /named/file-link /mounted;"
                     " readlink /tree/same; cat /tree/same")
    assert (code, out.splitlines()) == (0, ["a", "b", "a", "a", "b", "a", "a.txt", "a"])
    assert (ctx / "real" / "a.txt").read_text() == "a\n"  # rw writes stay in the step
    assert sorted(p.name for p in (ctx / "real").iterdir()) == ["a.txt", "same", "sub"]


def test_an_ignored_file_stays_out_of_reach_through_a_link(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    (ctx / "real").mkdir(parents=True)
    (ctx / "real" / "secret.key").write_text("hidden\n")
    (ctx / "real" / "a.txt").write_text("a\n")
    (ctx / "rel").symlink_to("real")
    (ctx / "key-link").symlink_to("real/secret.key")
    (ctx / ".dockerignore").write_text("real/secret.key\n")
    for dockerfile in ("FROM busybox\nCOPY rel/secret.key /k\n",
                       "FROM busybox\nCOPY key-link /k\n"):
        with pytest.raises(BuildError, match=r"COPY failed: file not found in build context"):
            _build(engine, ctx, dockerfile, no_cache=True)
    with pytest.raises(DockerfileError, match=r"RUN --mount: key-link not found in the build"
                       " context"):
        _build(engine, ctx, "FROM busybox\nRUN --mount=source=key-link,target=/k cat /k\n",
               no_cache=True)
    dockerfile = "FROM busybox\nRUN --mount=source=rel,target=/r ls /r > /listed\n"
    _build(engine, ctx, dockerfile, tags=("ignoredlink:1",))
    assert _run(engine, "ignoredlink:1", "cat", "/listed") == (0, "a.txt\n")


def test_stage_links_resolve_inside_the_stage_for_binds_copies_and_cache_seeds(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine, victim = engine_with_busybox, _victim(tmp_path)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    stage = f"FROM busybox AS tools\nRUN ln -s {victim} /link\n"
    uses = (
        "FROM busybox\n"
        "RUN --mount=type=bind,from=tools,source=link,target=/x,rw"
        " sh -c 'cat /x/file > /rw; echo OVERWRITTEN > /x/file; touch /x/newfile'\n"
        "RUN --mount=type=bind,from=tools,source=link/file,target=/f cat /f > /ro\n"
        f"RUN --mount=type=cache,id=seed-{tmp_path.name},from=tools,source=link,target=/c"
        " cat /c/file > /seeded\n"
        "COPY --from=tools /link/file /copied\n"
    )
    with pytest.raises(DockerfileError, match=r"Dockerfile:4: RUN --mount: link not found in"
                       " tools"):
        _build(engine, ctx, stage + uses, no_cache=True)
    _untouched(victim)
    stage += f"RUN mkdir -p {victim} && echo in the stage > {victim}/file\n"
    _build(engine, ctx, stage + uses, tags=("stagelink:1",), no_cache=True)
    assert _run(engine, "stagelink:1", "cat", "/rw", "/ro", "/seeded", "/copied") == (
        0, "in the stage\n" * 4)
    _untouched(victim)


def test_a_step_replacing_a_mount_point_dir_by_a_link_removes_nothing_on_the_host(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    """The mount points a step's ``--mount`` made are removed after it, while empty: the
    command may have moved their directory away and put a link in its place."""
    engine = engine_with_busybox
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "sub" / "token").write_text("")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    dockerfile = (
        "FROM busybox\n"
        "RUN --mount=type=tmpfs,target=/stubdir/sub/token"
        f" sh -c 'mv /stubdir /moved && ln -s {victim} /stubdir'\n"
    )
    _build(engine, ctx, dockerfile, tags=("stublink:1",))
    assert (victim / "sub" / "token").is_file()
    assert _run(engine, "stublink:1", "readlink", "/stubdir") == (0, f"{victim}\n")


def test_a_missing_bind_stage_names_the_run_mount(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    with pytest.raises(BuildError, match=r"Dockerfile:2: RUN --mount=type=bind,"
                       r"from=nosuchstage: no build stage or image of that name"):
        _build(engine_with_busybox, ctx,
               "FROM busybox\nRUN --mount=type=bind,from=nosuchstage,target=/x true\n")


def test_a_copy_destination_through_an_image_link_keeps_the_link(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    """BuildKit resolves COPY's destination in the image: on a merged-usr image `COPY x /bin/`
    lands in usr/bin and /bin stays the link (a layer dir in its place hid every binary)."""
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("hello\n")
    dockerfile = (
        "FROM busybox\n"
        "RUN mkdir -p /usr/local/realbin && echo kept > /usr/local/realbin/keep"
        " && ln -s usr/local/realbin /lbin\n"
        "COPY f /lbin/\n"
        "COPY f /lbin/renamed\n"
    )
    _build(engine, ctx, dockerfile, tags=("copydestlink:1",))
    code, out = _run(engine, "copydestlink:1", "sh", "-c",
                     "readlink /lbin; cat /usr/local/realbin/keep /lbin/f /lbin/renamed")
    assert (code, out.splitlines()) == (0, ["usr/local/realbin", "kept", "hello", "hello"])
