"""`build --check`: BuildKit's Dockerfile checks, by BuildKit's rule names and messages, on
the builder's own parse of the Dockerfile; `# check=skip=…;error=true` as BuildKit reads it;
the report as buildx prints it."""

from __future__ import annotations

import textwrap

import pytest

from compose.cli.build_check import failure, report
from engine.builder.lint import DockerfileCheck, check_dockerfile
from engine.builder.parser import parse_dockerfile

BASE_ENV = frozenset({"PATH", "HOME"})


def _found(text: str, args: dict[str, str] | None = None) -> list[tuple[str, int, str]]:
    dockerfile = parse_dockerfile(textwrap.dedent(text).lstrip())
    result = check_dockerfile(dockerfile, args, lambda ref: BASE_ENV if ref == "base" else None)
    return [(w.rule.value, w.line, w.detail) for w in result.warnings]


def test_a_clean_dockerfile_has_no_warnings() -> None:
    assert _found("""
        ARG TAG=1
        FROM base:${TAG} AS build
        ENV GREETING=hi
        WORKDIR /src
        COPY $GREETING /x
        FROM build
        WORKDIR rel
        CMD ["sh"]
    """) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("FROM base as build\n",
     [("FromAsCasing", 1, "'as' and 'FROM' keywords' casing do not match")]),
    ("from base AS build\n",
     [("FromAsCasing", 1, "'AS' and 'from' keywords' casing do not match")]),
    ("From base AS build\nFROM base\n", [("ConsistentInstructionCasing", 1,
      "Command 'From' should match the case of the command majority (uppercase)")]),
    ("FROM base AS Build\n", [("StageNameCasing", 1, "Stage name 'Build' should be lowercase")]),
    ("FROM base AS a\nFROM base AS a\n",
     [("DuplicateStageName", 2, 'Duplicate stage name "a", stage names should be unique')]),
    ("FROM base AS context\n", [("ReservedStageName", 1,
      'Stage name should not use the same name as reserved stage "context"')]),
    ("FROM base\nCMD echo hi\n", [("JSONArgsRecommended", 2, "JSON arguments recommended for "
      "CMD to prevent unintended behavior related to OS signals")]),
    ("FROM base\nSHELL [\"/bin/bash\", \"-c\"]\nENTRYPOINT echo hi\n", []),  # custom shell
    ("FROM base\nMAINTAINER me\n", [("MaintainerDeprecated", 2,
      "Maintainer instruction is deprecated in favor of using label")]),
    ("ARG TAG=1\nFROM base:${tag}\n", [("UndefinedArgInFrom", 2,
      "FROM argument 'tag' is not declared (did you mean TAG?)")]),
    ("FROM --platform=$BUILDPLATFORM base\n", []),  # predefined
    ("FROM base\nWORKDIR app\n", [("WorkdirRelativePath", 2,
      'Relative workdir "app" can have unexpected results if the base image changes')]),
    ("FROM base\nCOPY $PAHT /x\n", [("UndefinedVar", 2,
      "Usage of undefined variable '$PAHT' (did you mean $PATH?)")]),
    ("FROM base\nCOPY ${NOPE:-x} $HOME /x\n", [("UndefinedVar", 2,  # the image's HOME is set
      "Usage of undefined variable '$NOPE' (did you mean $HOME?)")]),  # a default is a use
    ("FROM other\nCOPY $NOPE /x\n", []),  # an image not here: its env is unknown
    ("FROM base\nHEALTHCHECK CMD true\nHEALTHCHECK NONE\n", [("MultipleInstructionsDisallowed",
      2, "Multiple HEALTHCHECK instructions should not be used in the same stage because only "
      "the last one will be used")]),
    ("FROM base\nLABEL a b\n", [("LegacyKeyValueFormat", 2,
      '"LABEL key=value" should be used instead of legacy "LABEL key value" format')]),
    ("FROM --platform=$TARGETPLATFORM base\n", [("RedundantTargetPlatform", 1,
      "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
      "default behavior")]),
    ("FROM base\nARG DB_PASSWORD\nARG PUBLIC_KEY\nENV apiKey=1\n", [
        ("SecretsUsedInArgOrEnv", 2,
         'Do not use ARG or ENV instructions for sensitive data (ARG "DB_PASSWORD")'),
        ("SecretsUsedInArgOrEnv", 4,
         'Do not use ARG or ENV instructions for sensitive data (ENV "apiKey")')]),
    ("ARG V\nFROM base:${V}\n", [("InvalidDefaultArgInFrom", 2,
      "Default value for ARG base:${V} results in empty or invalid base image name")]),
    ("FROM base\nEXPOSE 80/TCP 127.0.0.1:80:80\n", [
        ("ExposeProtoCasing", 2, "Defined protocol '80/TCP' in EXPOSE instruction should be "
         "lowercase"),
        ("ExposeInvalidFormat", 2, "EXPOSE instruction should not define an IP address or "
         "host-port mapping, found '127.0.0.1:80:80'")]),
    ("FROM base\nRUN echo a \\\n\n  b\n", [("NoEmptyContinuation", 2, "Empty continuation line")]),
    ("FROM base\nrun true\nRUN true\n", [("ConsistentInstructionCasing", 2,
      "Command 'run' should match the case of the command majority (uppercase)")]),
])
def test_each_rule_by_buildkit_s_name_and_message(
    text: str, expected: list[tuple[str, int, str]]
) -> None:
    assert _found(text) == expected


def test_the_check_directive_skips_rules_and_makes_them_errors() -> None:
    text = "# check=skip=MaintainerDeprecated;error=true\nFROM base as b\nMAINTAINER x\n"
    result = check_dockerfile(parse_dockerfile(text))
    assert [w.rule.value for w in result.warnings] == ["FromAsCasing"]
    assert result.failed
    check = DockerfileCheck("Dockerfile", text, result)
    assert failure(check) == "lint violation found for rules: FromAsCasing"
    assert not check_dockerfile(parse_dockerfile("# check=skip=all\nFROM base as b\n")).warnings
    quiet = check_dockerfile(parse_dockerfile("# check=error=true\nFROM base\n"))
    assert not quiet.failed


def test_the_report_is_buildx_s() -> None:
    text = "FROM base\nRUN true\nRUN true\nCMD echo hi\n"
    check = DockerfileCheck("Dockerfile", text, check_dockerfile(parse_dockerfile(text)))
    assert report(check, "Dockerfile") == (
        "Check complete, 1 warning has been found!\n"
        "\n"
        "WARNING: JSONArgsRecommended - "
        "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n"
        "JSON arguments recommended for CMD to prevent unintended behavior related to OS "
        "signals\n"
        "Dockerfile:4\n"
        "--------------------\n"
        "   2 |     RUN true\n"
        "   3 |     RUN true\n"
        "   4 | >>> CMD echo hi\n"
        "   5 |     \n"
        "--------------------\n"
    )
    clean = DockerfileCheck("Dockerfile", "FROM base\n", check_dockerfile(
        parse_dockerfile("FROM base\n")))
    assert report(clean, "Dockerfile") == "Check complete, no warnings found.\n"
