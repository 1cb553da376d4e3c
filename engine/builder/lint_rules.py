"""BuildKit's Dockerfile check rules that `build --check` runs: names, URLs and messages as
BuildKit's linter words them, so a user finds them in Docker's documentation."""

from __future__ import annotations

import enum
import re

_URL = "https://docs.docker.com/go/dockerfile/rule/"


class Rule(enum.Enum):
    """A check: its value is BuildKit's rule name; `url` where Docker documents it."""

    STAGE_NAME_CASING = "StageNameCasing"
    FROM_AS_CASING = "FromAsCasing"
    NO_EMPTY_CONTINUATION = "NoEmptyContinuation"
    CONSISTENT_INSTRUCTION_CASING = "ConsistentInstructionCasing"
    DUPLICATE_STAGE_NAME = "DuplicateStageName"
    RESERVED_STAGE_NAME = "ReservedStageName"
    JSON_ARGS_RECOMMENDED = "JSONArgsRecommended"
    MAINTAINER_DEPRECATED = "MaintainerDeprecated"
    UNDEFINED_ARG_IN_FROM = "UndefinedArgInFrom"
    WORKDIR_RELATIVE_PATH = "WorkdirRelativePath"
    UNDEFINED_VAR = "UndefinedVar"
    MULTIPLE_INSTRUCTIONS_DISALLOWED = "MultipleInstructionsDisallowed"
    LEGACY_KEY_VALUE_FORMAT = "LegacyKeyValueFormat"
    REDUNDANT_TARGET_PLATFORM = "RedundantTargetPlatform"
    SECRETS_USED_IN_ARG_OR_ENV = "SecretsUsedInArgOrEnv"
    INVALID_DEFAULT_ARG_IN_FROM = "InvalidDefaultArgInFrom"
    EXPOSE_PROTO_CASING = "ExposeProtoCasing"
    EXPOSE_INVALID_FORMAT = "ExposeInvalidFormat"

    @property
    def url(self) -> str:
        slug = re.sub(r"(?<=[a-z])(?=[A-Z])", "-", self.value).lower()  # JSONArgs: json-args
        return f"{_URL}{slug.replace('jsonargs', 'json-args')}/"


def stage_name_casing(name: str) -> str:
    return f"Stage name '{name}' should be lowercase"


def from_as_casing(from_word: str, as_word: str) -> str:
    return f"'{as_word}' and '{from_word}' keywords' casing do not match"


def empty_continuation() -> str:
    return "Empty continuation line"


def instruction_casing(word: str, majority: str) -> str:
    return f"Command '{word}' should match the case of the command majority ({majority})"


def duplicate_stage_name(name: str) -> str:
    return f'Duplicate stage name "{name}", stage names should be unique'


def reserved_stage_name(name: str) -> str:
    return f'Stage name should not use the same name as reserved stage "{name}"'


def json_args_recommended(keyword: str) -> str:
    return (f"JSON arguments recommended for {keyword} to prevent unintended behavior related "
            "to OS signals")


def maintainer_deprecated() -> str:
    return "Maintainer instruction is deprecated in favor of using label"


def undefined_arg_in_from(name: str, suggestion: str | None) -> str:
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    return f"FROM argument '{name}' is not declared{hint}"


def workdir_relative_path(path: str) -> str:
    return f'Relative workdir "{path}" can have unexpected results if the base image changes'


def undefined_var(name: str, suggestion: str | None) -> str:
    hint = f" (did you mean ${suggestion}?)" if suggestion else ""
    return f"Usage of undefined variable '${name}'{hint}"


def multiple_instructions(keyword: str) -> str:
    return (f"Multiple {keyword} instructions should not be used in the same stage because "
            "only the last one will be used")


def legacy_key_value(keyword: str) -> str:
    return f'"{keyword} key=value" should be used instead of legacy "{keyword} key value" format'


def redundant_target_platform(value: str) -> str:
    return (f"Setting platform to predefined {value} in FROM is redundant as this is the "
            "default behavior")


def secrets_in_arg_or_env(keyword: str, name: str) -> str:
    return f'Do not use ARG or ENV instructions for sensitive data ({keyword} "{name}")'


def invalid_default_arg_in_from(base: str) -> str:
    return f"Default value for ARG {base} results in empty or invalid base image name"


def expose_proto_casing(port: str) -> str:
    return f"Defined protocol '{port}' in EXPOSE instruction should be lowercase"


def expose_invalid_format(port: str) -> str:
    return ("EXPOSE instruction should not define an IP address or host-port mapping, found "
            f"'{port}'")
