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
        ("FROM a\nRUN <<EOF\necho\nEOF\n", "Dockerfile:2: heredocs"),
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
