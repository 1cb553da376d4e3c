"""The Dockerfile instructions that change only an image's config (ENV, CMD, LABEL, EXPOSE…):
one implementation for a build's steps and for `commit --change`, as Docker's daemon runs a
commit's changes through its builder's dispatchers, so both read an instruction alike."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from engine.builder.parser import Instruction
from engine.builder.words import key_values, word, words
from engine.errors import InvalidArgumentError

DEFAULT_SHELL = ("/bin/sh", "-c")
# What `docker commit --change` takes (moby's validCommitCommands), by the parser's keyword.
COMMIT_INSTRUCTIONS = frozenset({
    "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL",
    "USER", "VOLUME", "WORKDIR",
})
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                "h": 3600 * 10**9}
_HEALTHCHECK_KEYS = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                     "start-interval": "StartInterval"}


def parse_duration(text: str, where: str) -> int:
    """Go duration (``30s``, ``1m30s``, ``500ms``) → nanoseconds."""
    pos, total = 0, 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += int(float(match[1]) * _DURATION_NS[match[2]])
        pos = match.end()
    if pos != len(text) or not text:
        raise InvalidArgumentError(f"{where}: invalid duration {text!r} (e.g. 30s, 1m30s)")
    return total


def config_env(config: dict[str, Any]) -> dict[str, str]:
    """The config's Env as a mapping (the values substitution sees)."""
    return dict(item.partition("=")[::2] for item in config.get("Env") or [])


def workdir_path(config: dict[str, Any], target: str) -> str:
    """WORKDIR's new working directory: relative to the current one, normalized."""
    return posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", target))


def _exec_or_shell(config: dict[str, Any], instruction: Instruction) -> list[str]:
    if instruction.exec_form is not None:
        return list(instruction.exec_form)
    shell = config.get("Shell") or list(DEFAULT_SHELL)
    return [*shell, instruction.args]


def _exposed(config: dict[str, Any], items: list[str]) -> dict[str, Any]:
    ports = dict(config.get("ExposedPorts") or {})
    for item in items:
        port, _, proto = item.partition("/")
        low, _, high = port.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise InvalidArgumentError(f"invalid containerPort: {item}")
        for number in range(int(low), int(high or low) + 1):
            ports[f"{number}/{(proto or 'tcp').lower()}"] = {}
    return ports


def _volumes(config: dict[str, Any], items: list[str]) -> dict[str, Any]:
    volumes = dict(config.get("Volumes") or {})
    for item in items:
        if not item.strip():
            raise InvalidArgumentError("VOLUME specified can not be an empty string")
        volumes[item] = {}
    return volumes


def _onbuild(config: dict[str, Any], args: str) -> list[str]:
    trigger = args.split(None, 1)[0].upper() if args else ""
    if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
        raise InvalidArgumentError(f"{trigger} isn't allowed as an ONBUILD trigger")
    return [*(config.get("OnBuild") or []), args]


def healthcheck(instruction: Instruction) -> dict[str, Any]:
    """HEALTHCHECK as the config's Healthcheck object (durations in nanoseconds)."""
    text = instruction.args.strip()
    if text.upper() == "NONE":
        return {"Test": ["NONE"]}
    kind, _, rest = text.partition(" ")
    if kind.upper() != "CMD" or not rest.strip():
        raise InvalidArgumentError("HEALTHCHECK must be NONE or CMD <command>")
    rest = rest.strip()
    try:
        as_list = json.loads(rest) if rest.startswith("[") else None
    except ValueError:
        as_list = None
    test = ["CMD", *as_list] if isinstance(as_list, list) else ["CMD-SHELL", rest]
    out: dict[str, Any] = {"Test": test}
    for flag, value in instruction.flags.items():
        if flag == "retries":
            if not value.isdigit():
                raise InvalidArgumentError(f"invalid --retries {value!r}")
            out["Retries"] = int(value)
        else:
            out[_HEALTHCHECK_KEYS[flag]] = parse_duration(value, f"--{flag}")
    return out


def apply_config_instruction(
    doc: dict[str, Any], instruction: Instruction, env: dict[str, str], escape: str,
    cmd_set: bool,
) -> bool:
    """Apply one config-only instruction to the image config document `doc` (in place);
    `env`: the values its words are expanded with. Returns whether CMD has been set in this
    image (`cmd_set` before): a new ENTRYPOINT drops an inherited CMD, as in Docker.
    Raises InvalidArgumentError for a bad argument."""
    kw, args = instruction.keyword, instruction.args
    config = doc.setdefault("config", {})
    if kw == "ENV":
        current = config_env(config)
        current.update(key_values(args, env, escape))
        config["Env"] = [f"{k}={v}" for k, v in current.items()]
    elif kw == "LABEL":
        config["Labels"] = {**(config.get("Labels") or {}), **dict(key_values(args, env, escape))}
    elif kw == "CMD":
        config["Cmd"] = _exec_or_shell(config, instruction)
        return True
    elif kw == "ENTRYPOINT":
        config["Entrypoint"] = _exec_or_shell(config, instruction)
        if not cmd_set:
            config["Cmd"] = None  # Docker: a new ENTRYPOINT drops the base image's CMD
    elif kw == "USER":
        config["User"] = word(args, env, escape)
    elif kw == "EXPOSE":
        config["ExposedPorts"] = _exposed(config, words(args, env, escape))
    elif kw == "VOLUME":
        items = (list(instruction.exec_form) if instruction.exec_form is not None
                 else words(args, env, escape))
        config["Volumes"] = _volumes(config, items)
    elif kw == "STOPSIGNAL":
        config["StopSignal"] = word(args, env, escape)
    elif kw == "WORKDIR":
        config["WorkingDir"] = workdir_path(config, word(args, env, escape))
    elif kw == "SHELL":
        if instruction.exec_form is None:
            raise InvalidArgumentError('SHELL requires the JSON form: SHELL ["sh", "-c"]')
        config["Shell"] = list(instruction.exec_form)
    elif kw == "HEALTHCHECK":
        config["Healthcheck"] = healthcheck(instruction)
    elif kw == "MAINTAINER":
        doc["author"] = args
    elif kw == "ONBUILD":
        config["OnBuild"] = _onbuild(config, args)
    else:
        raise InvalidArgumentError(f"{kw} does not only change the image config")
    return cmd_set


def apply_commit_changes(doc: dict[str, Any], changes: tuple[str, ...]) -> None:
    """`docker commit --change`: each change is a Dockerfile instruction among those that
    only change the config (COMMIT_INSTRUCTIONS), applied to `doc` in order. An error names
    the change; `doc` is then half-changed and must be dropped."""
    from engine.builder.errors import DockerfileError
    from engine.builder.parser import parse_dockerfile

    cmd_set = False
    for change in changes:
        try:
            parsed = parse_dockerfile(f"FROM scratch\n{change}\n", "--change")
        except DockerfileError as exc:
            reason = exc.message.split(": ", 1)[-1]
            raise InvalidArgumentError(f"--change {change!r}: {reason}", subject=change) from None
        for instruction in parsed.instructions[1:]:
            if instruction.keyword not in COMMIT_INSTRUCTIONS:
                raise InvalidArgumentError(
                    f"--change {change!r}: {instruction.keyword.lower()} is not a valid change"
                    " command", subject=change,
                    hint="commit takes " + ", ".join(sorted(COMMIT_INSTRUCTIONS)),
                )
            env = config_env(doc.get("config") or {})
            try:
                cmd_set = apply_config_instruction(doc, instruction, env, "\\", cmd_set)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"--change {change!r}: {instruction.keyword}: {exc.message}", subject=change
                ) from None
