"""Dockerfile builds on the real engine: RUN in our containers, layers, cache, stages."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from engine.api import ContainerSpec, Engine
from engine.builder.build import BuildOptions, BuildResult
from engine.builder.errors import BuildError, DockerfileError


def _build(engine: Engine, context: Path, dockerfile: str, **kw: object) -> tuple[BuildResult,
                                                                                list[str]]:
    (context / "Dockerfile").write_text(dockerfile)
    lines: list[str] = []
    result = engine.build_image(BuildOptions(context=context, **kw), lines.append)  # type: ignore[arg-type]
    return result, lines


def _run(engine: Engine, image: str, *command: str) -> tuple[int | None, str]:
    name = f"buildtest-{os.urandom(4).hex()}"
    info = engine.create_container(
        ContainerSpec(name=name, image=image, command=command or None, network_mode="none")
    )
    try:
        engine.start_container(info.id)
        code = engine.wait_container(info.id, timeout=60)
        text = "".join(line.text for line in engine.logs(info.id))
    finally:
        engine.remove_container(info.id, force=True)
    return code, text


def test_build_run_copy_env_arg_and_run_it(engine_with_busybox: Engine, tmp_path: Path) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "app" / "hello.txt").write_text("hello from the context\n")
    (ctx / "app" / "secret.key").write_text("nope\n")
    (ctx / ".dockerignore").write_text("**/*.key\n")
    dockerfile = (
        "# a comment\n"
        "ARG BASE=busybox\n"
        "FROM ${BASE}:latest\n"
        "ARG GREETING=hi\n"
        "ENV APP_DIR=/srv/app \\\n"
        "    MODE=prod\n"
        "WORKDIR $APP_DIR\n"
        "COPY app/ ./\n"
        "RUN echo \"$GREETING from $MODE\" > greeting.txt && mkdir -p /data \\\n"
        "    && echo built > /data/marker\n"
        "USER 1000:1000\n"
        "EXPOSE 8080 9000/udp\n"
        "LABEL org.example.name=\"demo app\" version=1\n"
        'CMD ["sh", "-c", "cat greeting.txt hello.txt; id -u; ls"]\n'
    )
    result, lines = _build(engine, ctx, dockerfile, tags=("demo:1",),
                           build_args={"GREETING": "howdy"})
    assert "Successfully tagged demo:1" in lines
    image = engine.get_image("demo:1")
    assert image.id == result.image.id
    assert image.config.working_dir == "/srv/app"
    assert "MODE=prod" in image.config.env and "APP_DIR=/srv/app" in image.config.env
    assert not any(e.startswith("GREETING=") for e in image.config.env)  # ARG not persisted
    assert image.config.user == "1000:1000"
    assert image.config.exposed_ports == ("8080/tcp", "9000/udp")
    assert image.config.labels == {"org.example.name": "demo app", "version": "1"}
    code, out = _run(engine, "demo:1")
    assert code == 0, out
    assert out.splitlines() == [
        "howdy from prod", "hello from the context", "1000", "greeting.txt", "hello.txt"
    ]
    history = engine.images.config_document(image)["history"]
    assert any("RUN" not in h["created_by"] and "GREETING=howdy" in h["created_by"]
               for h in history)


def test_cache_reuses_every_step_and_copy_change_rebuilds_from_there(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("one\n")
    (ctx / "b.txt").write_text("bee\n")
    dockerfile = (
        "FROM busybox\n"
        "RUN echo first > /first\n"
        "COPY a.txt /a.txt\n"
        "RUN cat /a.txt > /copy-of-a\n"
        "COPY b.txt /b.txt\n"
        "CMD [\"cat\", \"/copy-of-a\"]\n"
    )
    first, _ = _build(engine, ctx, dockerfile, tags=("cached:1",))
    assert first.cached_steps == 0
    again, _ = _build(engine, ctx, dockerfile, tags=("cached:1",))
    assert again.cached_steps == again.steps == 5
    assert again.image.id == first.image.id
    (ctx / "a.txt").write_text("two\n")
    changed, lines3 = _build(engine, ctx, dockerfile, tags=("cached:1",))
    assert lines3.count(" ---> Using cache") == 1  # only the RUN before the changed COPY
    assert changed.image.id != first.image.id
    assert _run(engine, "cached:1")[1] == "two\n"
    # An mtime-only change (touch) keeps the cache: keys hash content, not timestamps.
    os.utime(ctx / "b.txt", (1, 1))
    touched, _ = _build(engine, ctx, dockerfile, tags=("cached:1",))
    assert touched.cached_steps == 5
    no_cache, _ = _build(engine, ctx, dockerfile, no_cache=True)
    assert no_cache.cached_steps == 0


def test_whiteouts_deleted_file_absent_and_opaque_dir(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    dockerfile = (
        "FROM busybox\n"
        "RUN mkdir -p /stuff/sub && echo a > /stuff/keep && echo b > /stuff/gone"
        " && echo c > /stuff/sub/x\n"
        "RUN rm /stuff/gone && rm -rf /stuff/sub && mkdir /stuff/sub && echo new > /stuff/sub/y"
        " && rm /bin/vi\n"
        "CMD [\"sh\", \"-c\", \"ls /stuff /stuff/sub; test -e /bin/vi || echo no-vi\"]\n"
    )
    result, _ = _build(engine, ctx, dockerfile, tags=("wh:1",))
    layer_digest = engine.images.manifest(result.image)["layers"][-1]["digest"]
    with tarfile.open(engine.images.content.path(layer_digest)) as archive:
        names = archive.getnames()
    assert "stuff/.wh.gone" in names
    assert "bin/.wh.vi" in names
    assert "stuff/sub/.wh..wh..opq" in names or "stuff/.wh.sub" in names
    assert "etc/hosts" not in names and "etc/resolv.conf" not in names
    code, out = _run(engine, "wh:1")
    assert code == 0
    assert out.split() == ["/stuff:", "keep", "sub", "/stuff/sub:", "y", "no-vi"]


def test_multi_stage_copy_from_and_target(engine_with_busybox: Engine, tmp_path: Path) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    with tarfile.open(ctx / "bundle.tar.gz", "w:gz") as archive:
        payload = ctx / "payload.txt"
        payload.write_text("from a tarball\n")
        archive.add(payload, arcname="docs/payload.txt")
    dockerfile = (
        "FROM busybox AS builder\n"
        "RUN mkdir /out && echo compiled > /out/program && chmod 755 /out/program\n"
        "ADD bundle.tar.gz /opt/\n"
        "\n"
        "FROM scratch AS final\n"
        "COPY --from=builder /bin/busybox /bin/busybox\n"
        "COPY --from=builder --chown=1234:5678 /out/program /app/\n"
        "COPY --from=0 /opt/docs /docs\n"
        'ENTRYPOINT ["/bin/busybox"]\n'
        'CMD ["sh", "-c", "cat /app/program /docs/payload.txt; stat -c %u:%g /app/program"]\n'
    )
    final, _ = _build(engine, ctx, dockerfile, tags=("multi:final",))
    assert len(final.image.diff_ids) == 3
    code, out = _run(engine, "multi:final")
    assert code == 0, out
    assert out.splitlines() == ["compiled", "from a tarball", "1234:5678"]
    builder, _ = _build(engine, ctx, dockerfile, tags=("multi:builder",), target="builder")
    assert len(builder.image.diff_ids) == 3  # busybox + RUN + ADD
    assert _run(engine, "multi:builder", "cat", "/opt/docs/payload.txt")[1] == "from a tarball\n"


def test_run_failure_names_step_and_leaves_nothing(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    before = {i.id for i in engine.list_images()}
    with pytest.raises(BuildError, match=r"Dockerfile:2: the command .* returned a non-zero code"):
        _build(engine, ctx, "FROM busybox\nRUN echo failing; exit 3\n", tags=("bad:1",))
    assert engine.list_containers() == []
    assert {i.id for i in engine.list_images()} == before


def test_bad_dockerfiles_name_file_and_line(engine_with_busybox: Engine, tmp_path: Path) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    with pytest.raises(DockerfileError, match=r"Dockerfile:3: unknown instruction: FROBNICATE"):
        _build(engine, ctx, "FROM busybox\n\nFROBNICATE now\n")
    with pytest.raises(BuildError, match=r"Dockerfile:1: base image nosuchimage:latest not found"):
        _build(engine, ctx, "FROM nosuchimage\nRUN true\n")
    with pytest.raises(BuildError, match=r"Dockerfile:2: COPY failed: file not found"):
        _build(engine, ctx, "FROM busybox\nCOPY missing.txt /x\n")
    with pytest.raises(BuildError, match="target stage 'nope' could not be found"):
        _build(engine, ctx, "FROM busybox AS a\n", target="nope")


def test_gc_removes_unreferenced_blobs_and_snapshots_and_cache_misses(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    dockerfile = "FROM busybox\nRUN echo x > /x\n"
    first, _ = _build(engine, ctx, dockerfile, tags=("gc:1",))
    busybox = engine.get_image("busybox")
    run_layer = first.image.diff_ids[-1]
    assert _run(engine, "gc:1", "cat", "/x") == (0, "x\n")  # unpacks the RUN layer
    snapshots_before = {p.name for p in engine.images.snapshots.root.iterdir()}
    engine.images.remove("gc:1")
    removed, freed = engine.images.gc(grace_seconds=0)
    assert removed >= 3 and freed > 0  # the RUN layer, configs, manifests
    assert not engine.images.content.exists(run_layer)
    assert engine.images.content.exists(busybox.diff_ids[0])
    snapshots_after = {p.name for p in engine.images.snapshots.root.iterdir()}
    assert snapshots_after < snapshots_before
    assert engine.get_image("busybox").id == busybox.id
    again, lines = _build(engine, ctx, dockerfile, tags=("gc:1",))  # stale cache: a miss
    assert again.cached_steps == 0 and " ---> Using cache" not in lines
    code, _ = _run(engine, "gc:1", "cat", "/x")
    assert code == 0


def test_onbuild_triggers_run_in_the_child_build(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    parent_ctx = tmp_path / "parent"
    parent_ctx.mkdir()
    _build(engine, parent_ctx, "FROM busybox\nONBUILD COPY app.txt /app/\n"
           "ONBUILD RUN cat /app/app.txt > /app/seen\n", tags=("onbuild-base:1",))
    base_doc = engine.images.config_document(engine.get_image("onbuild-base:1"))
    assert base_doc["config"]["OnBuild"] == [
        "COPY app.txt /app/", "RUN cat /app/app.txt > /app/seen"
    ]
    child_ctx = tmp_path / "child"
    child_ctx.mkdir()
    (child_ctx / "app.txt").write_text("child content\n")
    child, lines = _build(engine, child_ctx, "FROM onbuild-base:1\nCMD [\"cat\", \"/app/seen\"]\n",
                          tags=("onbuild-child:1",))
    assert any("Running ONBUILD trigger: COPY app.txt /app/" in line for line in lines)
    assert not engine.images.config_document(child.image)["config"].get("OnBuild")
    assert _run(engine, "onbuild-child:1") == (0, "child content\n")
