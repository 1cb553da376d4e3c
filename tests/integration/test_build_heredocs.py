"""Dockerfile heredocs on the real engine: RUN scripts, a heredoc as a command's stdin,
several on one line, `#!` scripts, COPY of inline files, and the step cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api import Engine
from engine.builder.errors import DockerfileError
from tests.integration.test_build import _build, _run

DOCKERFILE = (
    "# syntax=docker/dockerfile:1\n"
    "FROM busybox\n"
    "ARG NAME=world\n"
    "ENV GREETING=hello\n"
    "RUN <<EOF\n"
    "echo \"script $GREETING\" > /a\n"
    "mkdir -p /out\n"
    "EOF\n"
    "RUN <<-EOF\n"
    "\techo tabbed > /b\n"
    "\tEOF\n"
    "RUN cat <<'EOF' > /c\n"
    "literal $GREETING\n"
    "EOF\n"
    "RUN <<A cat > /d1 && <<B cat > /d2\n"
    "one\n"
    "A\n"
    "two\n"
    "B\n"
    "RUN sh <<EOF\n"
    "echo from-stdin > /stdin\n"
    "EOF\n"
    "RUN <<EOF\n"
    "#!/bin/sh\n"
    "echo \"shebang $0\" > /e\n"
    "EOF\n"
    "COPY <<EOF /f.txt\n"
    "hi $NAME ${GREETING} \\$HOME 'q'\n"
    "EOF\n"
    "COPY <<'EOF' /g.txt\n"
    "raw $NAME\n"
    "EOF\n"
    "COPY --chmod=755 <<x.sh <<y.txt /dir/\n"
    "echo x\n"
    "x.sh\n"
    "y\n"
    "y.txt\n"
)


def test_run_and_copy_heredocs(engine_with_busybox: Engine, tmp_path: Path) -> None:
    engine = engine_with_busybox
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    first, _ = _build(engine, ctx, DOCKERFILE, tags=("heredoc:1",))
    code, out = _run(engine, "heredoc:1", "sh", "-c",
                     "cat /a /b /c /d1 /d2 /stdin /e /f.txt /g.txt /dir/y.txt;"
                     " /dir/x.sh; stat -c %a /dir/x.sh /dir/y.txt; ls -d /out;"
                     " ls /dev/pipes 2>&1 | head -1")
    assert code == 0, out
    assert out.splitlines() == [
        "script hello", "tabbed", "literal $GREETING", "one", "two", "from-stdin",
        "shebang /dev/pipes/EOF",
        "hi world hello $HOME 'q'",  # expanded, the escape applied, quotes kept
        "raw $NAME",  # a quoted delimiter: no expansion
        "y", "x", "755", "755", "/out",
        "ls: /dev/pipes: No such file or directory",
    ]
    again, lines = _build(engine, ctx, DOCKERFILE, tags=("heredoc:1",))
    # Every step but the ARG (never a cached step) comes from the cache.
    assert again.cached_steps == again.steps - 1 and again.image.id == first.image.id
    # A changed body is a changed step: the RUN and what follows run again.
    _, lines = _build(engine, ctx, DOCKERFILE.replace("echo tabbed", "echo TABBED"),
                      tags=("heredoc:1",))
    assert lines.count(" ---> Using cache") == 2  # ENV, the first RUN
    assert _run(engine, "heredoc:1", "cat", "/b") == (0, "TABBED\n")
    copied, lines = _build(engine, ctx, DOCKERFILE.replace("raw $NAME", "raw $NAME!"),
                           tags=("heredoc:1",))
    assert copied.cached_steps == copied.steps - 3  # the ARG, the changed COPY, the last
    assert _run(engine, "heredoc:1", "cat", "/g.txt") == (0, "raw $NAME!\n")


def test_heredoc_mistakes_name_file_and_line(engine_with_busybox: Engine,
                                             tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    with pytest.raises(DockerfileError, match=r"Dockerfile:3: RUN: unterminated heredoc"):
        _build(engine_with_busybox, ctx, "FROM busybox\n\nRUN <<EOF\necho never ends\n")
    with pytest.raises(DockerfileError,
                       match=r"Dockerfile:2: COPY cannot accept a heredoc as a destination"):
        _build(engine_with_busybox, ctx, "FROM busybox\nCOPY /x <<EOF\nbody\nEOF\n")


def test_onbuild_trigger_with_a_heredoc_and_a_mount(engine_with_busybox: Engine,
                                                    tmp_path: Path) -> None:
    engine = engine_with_busybox
    parent = tmp_path / "parent"
    parent.mkdir()
    _build(engine, parent, "FROM busybox\nONBUILD RUN --mount=type=tmpfs,target=/t <<EOF\n"
           "grep -c ' /t tmpfs ' /proc/mounts > /ob\nEOF\n", tags=("ob-heredoc:1",))
    child = tmp_path / "child"
    child.mkdir()
    _build(engine, child, "FROM ob-heredoc:1\n", tags=("ob-heredoc-child:1",))
    assert _run(engine, "ob-heredoc-child:1", "cat", "/ob") == (0, "1\n")
