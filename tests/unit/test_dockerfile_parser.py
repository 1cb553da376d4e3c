"""Dockerfile parsing, word expansion and .dockerignore matching (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.builder.dockerignore import DockerIgnore
from engine.builder.errors import DockerfileError
from engine.builder.parser import parse_dockerfile
from engine.builder.words import key_values, word, words
from engine.errors import InvalidArgumentError


def test_instructions_lines_continuations_and_comments() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG V=1\n"
        "from busybox AS base\n"
        "\n"
        "RUN echo a \\\n"
        "# a comment inside the continuation\n"
        "    && echo b\n"
        'CMD ["sh", "-c", "echo hi"]\n'
        "COPY --from=base --chown=1:2 /a /b\n"
    )
    parsed = parse_dockerfile(text, "ctx/Dockerfile")
    kws = [(i.keyword, i.line) for i in parsed.instructions]
    assert kws == [("ARG", 2), ("FROM", 3), ("RUN", 5), ("CMD", 8), ("COPY", 9)]
    run = parsed.instructions[2]
    assert run.args == "echo a     && echo b"
    assert run.exec_form is None
    assert parsed.instructions[3].exec_form == ("sh", "-c", "echo hi")
    assert parsed.instructions[4].flags == {"from": "base", "chown": "1:2"}
    assert parsed.instructions[4].args == "/a /b"


def test_escape_directive_backtick() -> None:
    parsed = parse_dockerfile("# escape=`\nFROM busybox\nRUN echo a `\n  b\n")
    assert parsed.escape == "`"
    assert parsed.instructions[1].args == "echo a   b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM busybox\n\nFROBNICATE x\n", "Dockerfile:3: unknown instruction: FROBNICATE"),
        ("RUN true\n", "Dockerfile:1: no build stage in current context"),
        ("FROM busybox\nCOPY --bogus=1 a b\n", "Dockerfile:2: unknown flag: --bogus for COPY"),
        ("FROM busybox\nENV\n", "Dockerfile:2: ENV requires at least one argument"),
        ("# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token"),
        ("", "Dockerfile:1: the Dockerfile is empty"),
        ("FROM a\nRUN <<EOF\necho\n", "Dockerfile:2: RUN: unterminated heredoc"),
        ("# escape=`\n# escape=\\\nFROM a\n", "Dockerfile:2: only one escape parser directive"),
        ("FROM a\nRUN --mount=type=cache,target=/c --bogus x\n",
         "Dockerfile:2: unknown flag: --bogus for RUN"),
    ],
)
def test_syntax_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse_dockerfile(text, "Dockerfile")
    assert str(caught.value).startswith(message)


def test_word_expansion_rules() -> None:
    env = {"A": "x y", "EMPTY": "", "N": "3"}
    assert words("$A ${A}z '$A' \"$A\" \\$A", env) == ["x", "y", "x", "yz", "$A", "x y", "$A"]
    assert word("${EMPTY:-dflt} ${EMPTY-dflt} ${UNSET:-u} ${N:+set} ${UNSET:+set}", env) == (
        "dflt  u set "
    )
    assert word("/srv/${N}/app", env) == "/srv/3/app"
    with pytest.raises(InvalidArgumentError, match="UNSET: need it"):
        word("${UNSET:?need it}", env)
    with pytest.raises(InvalidArgumentError, match="unexpected end"):
        words("'open", env)


def test_env_and_label_pairs() -> None:
    env = {"B": "bee"}
    assert key_values('a=1 b="two words" c=$B d=', env) == [
        ("a", "1"), ("b", "two words"), ("c", "bee"), ("d", "")
    ]
    assert key_values("KEY value with  spaces", env) == [("KEY", "value with  spaces")]
    with pytest.raises(InvalidArgumentError):
        key_values("ONLYKEY", env)


def test_dockerignore_semantics() -> None:
    ignore = DockerIgnore.from_text(
        "# comment\n*.log\n/build\nnode_modules\n**/*.tmp\n!keep.log\ndocs/*/draft.md\n"
    )
    assert ignore.ignored("app.log")
    assert not ignore.ignored("keep.log")
    assert not ignore.ignored("sub/app.log")  # patterns are anchored at the root
    assert ignore.ignored("build/out.bin")  # a matched dir excludes what is below
    assert ignore.ignored("node_modules/x/y.js")
    assert ignore.ignored("a/b/c.tmp") and ignore.ignored("c.tmp")
    assert ignore.ignored("docs/v1/draft.md") and not ignore.ignored("docs/v1/x/draft.md")
    assert not ignore.ignored("src/main.py")
    assert not DockerIgnore([]).ignored("anything")


def test_a_dockerfile_s_own_ignore_file_wins_over_the_context_s(tmp_path: Path) -> None:
    """BuildKit: `dev.Dockerfile.dockerignore` beside `dev.Dockerfile` replaces the context's
    `.dockerignore` for that build (a secret ignored there must not reach the image)."""
    from engine.builder.context import BuildContext

    for name in ("a", "b", "sub/.secret"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / ".dockerignore").write_text("b\n")
    (tmp_path / "dev.Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "dev.Dockerfile.dockerignore").write_text("a\n**/.secret\n")
    own = BuildContext(tmp_path, dockerfile=tmp_path / "dev.Dockerfile")
    assert [p for p in ("a", "b", "sub/.secret") if own.resolve(p)] == ["b"]
    shared = BuildContext(tmp_path, dockerfile=tmp_path / "Dockerfile")
    assert [p for p in ("a", "b", "sub/.secret") if shared.resolve(p)] == ["a", "sub/.secret"]


def test_heredocs_bodies_markers_and_line_numbers() -> None:
    text = (
        "FROM busybox\n"
        "RUN <<EOF\n"
        "echo $HOME\r\n"
        "EOF\n"
        "RUN --mount=type=cache,target=/c python3 <<-'PY' && cat <<X > /x\n"
        "\tprint(1)\n"
        "\tPY\n"
        "x\n"
        "X\n"
        "COPY <<a.txt \"<<not-a-heredoc\" /dir/\n"
        "A\n"
        "a.txt\n"
        'RUN ["echo", "<<EOF"]\n'
        "ONBUILD RUN <<EOF\n"
        "echo later\n"
        "EOF\n"
        "CMD echo done\n"
    )
    parsed = parse_dockerfile(text)
    lines = [(i.keyword, i.line) for i in parsed.instructions]
    assert lines == [("FROM", 1), ("RUN", 2), ("RUN", 5), ("COPY", 10), ("RUN", 13),
                     ("ONBUILD", 14), ("CMD", 17)]
    simple = parsed.instructions[1].heredocs
    assert [(h.name, h.content, h.expand) for h in simple] == [("EOF", "echo $HOME\r\n", True)]
    run = parsed.instructions[2]
    assert run.mounts == ("type=cache,target=/c",)
    first, second = run.heredocs
    assert (first.name, first.chomp, first.expand, first.chomped) == ("PY", True, False,
                                                                       "print(1)\n")
    assert (second.name, second.content) == ("X", "x\n")
    assert [h.name for h in parsed.instructions[3].heredocs] == ["a.txt"]
    assert parsed.instructions[4].heredocs == ()  # the exec form has no heredocs
    assert parsed.instructions[5].args == "RUN <<EOF\necho later\nEOF"  # re-parsed later


def test_run_script_from_heredocs() -> None:
    from engine.builder.heredoc import Heredoc, run_script

    body = Heredoc("EOF", "\techo a\n", chomp=True)
    assert run_script("<<-EOF", (body,)) == ("echo a\n", None)
    shebang = Heredoc("EOF", "#!/usr/bin/env python3\nprint(1)\n")
    assert run_script("<<EOF", (shebang,)) == ("", shebang)
    two = (Heredoc("A", "one\n"), Heredoc("B", "two\n"))
    assert run_script("<<A cat > a && <<B cat > b", two) == (
        "<<A cat > a && <<B cat > b\none\nA\ntwo\nB", None
    )


def test_unknown_directive_ends_the_directives() -> None:
    parsed = parse_dockerfile("# check=skip=all\n# syntax=x\n# unknown=1\n# escape=`\nFROM a\n")
    assert parsed.escape == "\\"  # after an unknown directive, `# escape` is a comment


def test_run_mount_values() -> None:
    from engine.builder.run_mounts import MountType, Sharing, parse_mount

    def expand(text: str) -> str:
        return text.replace("$HOME", "/root")

    cache = parse_mount("type=cache,target=$HOME/.cache,sharing=locked,mode=0700,uid=1", expand,
                        "/")
    assert (cache.type, cache.target, cache.id, cache.sharing, cache.mode, cache.uid,
            cache.read_only) == (MountType.CACHE, "/root/.cache", "/root/.cache",
                                 Sharing.LOCKED, 0o700, 1, False)
    bind = parse_mount("source=src,target=app", expand, "/work")
    assert (bind.type, bind.target, bind.source, bind.read_only) == (
        MountType.BIND, "/work/app", "src", True)
    assert not parse_mount("type=bind,target=/a,rw", expand, "/").read_only
    secret = parse_mount("type=secret,id=token,env=TOKEN,required", expand, "/")
    assert (secret.id, secret.target, secret.env, secret.required) == ("token", "", "TOKEN",
                                                                       True)
    assert parse_mount("type=secret,id=aws", expand, "/").target == "/run/secrets/aws"
    assert parse_mount("type=secret,target=/etc/key.pem", expand, "/").id == "key.pem"
    assert parse_mount("type=tmpfs,target=/t,size=64m", expand, "/").size == 64 * 1024 * 1024
    for bad, message in (
        ("type=nfs,target=/x", "unsupported mount type"),
        ("type=bind,target=/x,mode=0700", "mode not allowed"),
        ("type=cache", "requires a target"),
        ("type=cache,target=/x,sharing=sometimes", "unsupported sharing"),
        ("type=cache,target=/x,frobnicate=1", "unexpected key 'frobnicate'"),
        ("type=secret,id=a,source=b", "both source and id"),
        ("type=secret", "one of id, source or target"),
        ("type=bind,from=$STAGE,target=/x", "doesn't support variable expansion"),
        ("type=ssh", "not supported"),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            parse_mount(bad, expand, "/")
