"""RUN --mount on the real engine: cache dirs kept between builds outside the layers, binds
of the context (its .dockerignore applied, read-only unless rw) and of other stages, tmpfs,
build secrets that never reach a layer, and RUN --network."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from engine.api import Engine
from engine.builder.errors import BuildError, DockerfileError
from engine.builder.secrets import BuildSecret
from tests.integration.test_build import _build, _run


def _layer_bytes(engine: Engine, image: str) -> bytes:
    """Every file of every layer of `image`, and its config (history included)."""
    found = engine.get_image(image)
    out = [engine.images.content.read_bytes(found.manifest_digest)]
    manifest = engine.images.manifest(found)
    out.append(engine.images.content.read_bytes(manifest["config"]["digest"]))
    for layer in manifest["layers"]:
        with tarfile.open(engine.images.content.path(layer["digest"])) as archive:
            for member in archive:
                out.append(member.name.encode())
                handle = archive.extractfile(member) if member.isreg() else None
                if handle is not None:
                    out.append(handle.read())
    return b"\n".join(out)


def test_cache_mount_outlives_builds_and_stays_out_of_the_image(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    cache_id = f"test-{os.urandom(4).hex()}"
    dockerfile = (
        "FROM busybox\n"
        "WORKDIR /work\n"
        f"RUN --mount=type=cache,id={cache_id},target=.cache,mode=0700,uid=1000 \\\n"
        "    sh -c 'echo run >> .cache/log; wc -l < .cache/log > /count;"
        " stat -c %a:%u .cache > /perm'\n"
    )
    _build(engine, ctx, dockerfile, tags=("cachemount:1",))
    assert _run(engine, "cachemount:1", "cat", "/count", "/perm") == (0, "1\n700:1000\n")
    _build(engine, ctx, dockerfile, tags=("cachemount:1",), no_cache=True)
    code, out = _run(engine, "cachemount:1", "sh", "-c", "cat /count; ls -a /work")
    assert (code, out.split()) == (0, ["2", ".", ".."])  # the mount point left no trace
    again, _ = _build(engine, ctx, dockerfile, tags=("cachemount:1",))
    assert again.cached_steps == again.steps  # the cache's content is not part of the key


def test_bind_mounts_of_the_context_and_of_a_stage(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "data.txt").write_text("data v1\n")
    (ctx / "src" / "secret.key").write_text("hidden\n")
    (ctx / ".dockerignore").write_text("**/*.key\n")
    dockerfile = (
        "FROM busybox AS tools\n"
        "RUN echo tool > /tool.txt\n"
        "FROM busybox\n"
        "RUN --mount=source=src,target=/src sh -c 'cat /src/data.txt > /out;"
        " test -e /src/secret.key || echo no-key >> /out;"
        " touch /src/new 2>/dev/null || echo read-only >> /out'\n"
        "RUN --mount=type=bind,source=src/data.txt,target=/data.txt,rw \\\n"
        "    sh -c 'echo changed >> /data.txt && cat /data.txt > /rw'\n"
        "RUN --mount=type=bind,from=tools,source=/tool.txt,target=/mnt/tool.txt"
        " cat /mnt/tool.txt > /from-stage\n"
    )
    _build(engine, ctx, dockerfile, tags=("bindmount:1",))
    code, out = _run(engine, "bindmount:1", "sh", "-c",
                     "cat /out /rw /from-stage; ls -d /src /mnt /data.txt 2>&1 | wc -l")
    assert code == 0, out
    assert out.splitlines() == ["data v1", "no-key", "read-only", "data v1", "changed", "tool",
                                "3"]
    _, missing = _run(engine, "bindmount:1", "sh", "-c", "ls /src /mnt /data.txt 2>&1")
    assert missing.count("No such file or directory") == 3
    assert (ctx / "src" / "data.txt").read_text() == "data v1\n"  # rw writes are discarded
    (ctx / "src" / "secret.key").write_text("still ignored\n")
    same, _ = _build(engine, ctx, dockerfile, tags=("bindmount:1",))
    assert same.cached_steps == same.steps  # an ignored file is not part of the key
    (ctx / "src" / "data.txt").write_text("data v2\n")
    _, lines = _build(engine, ctx, dockerfile, tags=("bindmount:1",))
    assert lines.count(" ---> Using cache") == 1  # only the tools stage's RUN
    assert _run(engine, "bindmount:1", "head", "-1", "/out") == (0, "data v2\n")
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN --mount: nope not found"):
        _build(engine, ctx, "FROM busybox\nRUN --mount=source=nope,target=/x true\n")


def test_tmpfs_mount_and_network_flag(engine_with_busybox: Engine, tmp_path: Path) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    dockerfile = (
        "FROM busybox\n"
        "RUN --mount=type=tmpfs,target=/scratch,size=1m sh -c"
        " 'grep \" /scratch tmpfs \" /proc/mounts | grep -c size=1024k > /tmpfs'\n"
        "RUN --network=none sh -c 'grep -c : /proc/net/dev > /interfaces'\n"
    )
    _build(engine, ctx, dockerfile, tags=("tmpfsmount:1",))
    code, out = _run(engine, "tmpfsmount:1", "sh", "-c",
                     "cat /tmpfs /interfaces; test -e /scratch || echo gone")
    assert (code, out.split()) == (0, ["1", "1", "gone"])  # only lo without a network
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN --network=bridge"):
        _build(engine, ctx, "FROM busybox\nRUN --network=bridge true\n")
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN --security=insecure:"
                       " entitlement security.insecure is not allowed"):
        _build(engine, ctx, "FROM busybox\nRUN --security=insecure true\n")
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN --mount=type=ssh: .*not"
                       " supported"):
        _build(engine, ctx, "FROM busybox\nRUN --mount=type=ssh true\n")


def test_secrets_as_files_and_env_never_reach_the_image(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    token_file = tmp_path / "token.txt"
    token_file.write_text("file-s3cr3t-value")
    secrets = (BuildSecret("token", file=token_file),
               BuildSecret("api", value=b"env-s3cr3t-value"))
    dockerfile = (
        "FROM busybox\n"
        # (the values' lengths are checked, so that the Dockerfile itself holds no secret)
        "RUN --mount=type=secret,id=token sh -c 'test $(wc -c < /run/secrets/token) = 17"
        " && stat -c %a:%u /run/secrets/token > /file-ok'\n"
        "RUN --mount=type=secret,id=api,env=API_KEY,target=/etc/api.key,mode=0440,gid=7 \\\n"
        "    sh -c 'test ${#API_KEY} = 16 && stat -c %a:%g /etc/api.key > /env-ok'\n"
        "RUN --mount=type=secret,id=absent sh -c 'test -e /run/secrets/absent || echo skipped"
        " > /optional'\n"
    )
    first, _ = _build(engine, ctx, dockerfile, tags=("secrets:1",), secrets=secrets)
    code, out = _run(engine, "secrets:1", "sh", "-c",
                     "cat /file-ok /env-ok /optional; test -e /run || echo no-run;"
                     " test -e /etc/api.key || echo no-key")
    assert code == 0, out
    assert out.splitlines() == ["400:0", "440:7", "skipped", "no-run", "no-key"]
    everything = _layer_bytes(engine, "secrets:1")
    assert b"s3cr3t" not in everything
    # A changed secret value does not rebuild the steps (it is not in the cache key).
    token_file.write_text("another-value")
    again, _ = _build(engine, ctx, dockerfile, tags=("secrets:1",), secrets=secrets)
    assert again.cached_steps == again.steps and again.image.id == first.image.id
    required = "FROM busybox\nRUN --mount=type=secret,id=absent,required true\n"
    with pytest.raises(BuildError,
                       match=r"Dockerfile:2: RUN --mount=type=secret: secret absent not found"):
        _build(engine, ctx, required, secrets=secrets)
    with pytest.raises(BuildError, match=r"secret gone: cannot read"):
        _build(engine, ctx, "FROM busybox\n",
               secrets=(BuildSecret("gone", file=tmp_path / "missing"),))
    assert engine.list_containers() == []
