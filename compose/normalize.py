"""Short syntax to long syntax: the merged stack file in the shape `docker compose config`
prints. The typed model is built from this shape, so there is one normalization, not two.

Service normalization is idempotent (included sub-projects are normalized twice).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable
from pathlib import Path

from compose.byte_size import parse_byte_size
from compose.dotenv import ENV_FILE_FORMATS, read_dotenv
from compose.durations import format_duration, parse_duration
from compose.errors import ComposeFileNotFoundError, Problem
from compose.merge import (
    by_key,
    depends_on_mapping,
    extra_hosts_list,
    mount_key,
    networks_mapping,
    to_mapping,
)
from compose.paths import resolve_service_paths
from compose.port_syntax import parse_port
from compose.volume_syntax import parse_volume

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

Lookup = Callable[[str], str | None]

_BOOLS = ("tty", "stdin_open", "privileged", "init", "read_only", "oom_kill_disable", "attach")
_INTS = ("scale", "cpu_shares", "cpu_count", "cpu_percent", "oom_score_adj", "mem_swappiness",
         "pids_limit", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime")
_SIZES = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")


def _key_value(item: Any) -> Any:
    """compose-go's keyValueIndexer: `KEY=VALUE` entries by KEY, others by their value."""
    return str(item).split("=", 1)[0]


def _device_target(item: Any) -> Any:
    """compose-go's deviceMappingIndexer: a device by its path in the container."""
    if isinstance(item, dict):
        return item.get("target")
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _env_file_path(item: Any) -> Any:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


# compose-go's EnforceUnicity (override/uncity.go): after merging (and within one file) a list
# keeps one entry per key, a later one replacing an earlier one in place. Mappings in list
# syntax (environment, labels, …), ports and volumes are de-duplicated where they are parsed.
_UNIQUE: dict[str, Callable[[Any], Any]] = {
    **{key: _key_value for key in (
        "cap_add", "cap_drop", "dns", "dns_opt", "dns_search", "links", "profiles", "tmpfs",
        "sysctls",
    )},
    "devices": _device_target,
    "env_file": _env_file_path,
    "expose": str,
    "secrets": mount_key("/run/secrets"),
    "configs": mount_key(""),
}


def unique(items: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    """One entry per key; a later entry replaces the earlier one at its position."""
    return by_key(key)([], list(items))


def _unique_lists(svc: dict[str, Any]) -> dict[str, Any]:
    out = dict(svc)
    for key, indexer in _UNIQUE.items():
        if isinstance(out.get(key), list):
            out[key] = unique(out[key], indexer)
    build = out.get("build")
    if isinstance(build, dict) and isinstance(build.get("tags"), list):
        out["build"] = {**build, "tags": unique(build["tags"], _key_value)}
    return out


class NormalizeError(ValueError):
    """A value has the right type but a wrong shape (e.g. `ports: ["a:b:c:d"]`).

    `suffix` locates the bad item inside the key, e.g. "[1]" for the second list entry.
    """

    def __init__(self, message: str, suffix: str = "") -> None:
        super().__init__(message)
        self.suffix = suffix


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "y", "on", "1"):
            return True
        if low in ("false", "no", "n", "off", "0", ""):
            return False
        raise NormalizeError(f"invalid boolean: {value!r}")
    return bool(value)


def to_int(value: Any) -> int:
    try:
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    except ValueError:
        raise NormalizeError(f"invalid integer: {value!r}") from None


def env_value(value: Any) -> str | None:
    """Compose stringifies scalar values in environment-like mappings."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


def go_float(value: float) -> str:
    """A float as Go's fmt.Sprint prints it (compose-go stringifies YAML numbers so):
    shortest digits, `1e3` as `1000`, `2.0` as `2`, exponent form below 1e-4 or from 1e21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    import decimal  # rare: only YAML floats in environment-like mappings get here

    text = repr(value)
    number = decimal.Decimal(text)
    if number == 0 or -4 <= number.adjusted() < 21:
        return format(number.normalize(), "f") if number != 0 else text.replace(".0", "")
    # Python's repr already uses the exponent form there, with Go's digits and sign.
    return text


def shell_split(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise NormalizeError(f"cannot split command {value!r}: {exc}") from None
    return [str(v) for v in value]


def _env_files(value: Any) -> list[tuple[Path, bool, str]]:
    """(path, required, format) of each env_file; an unknown format is refused here, naming
    the entry, rather than read as something it is not."""
    items = value if isinstance(value, list) else [value]
    out: list[tuple[Path, bool, str]] = []
    for position, item in enumerate(items):
        if isinstance(item, dict):
            env_format = str(item.get("format") or "")
            if env_format not in ENV_FILE_FORMATS:
                raise NormalizeError(
                    f'unsupported env_file format "{env_format}" (supported: raw, or none for '
                    "the .env syntax)", suffix=f"[{position}].format")
            out.append((Path(item["path"]), to_bool(item.get("required", True)), env_format))
        else:
            out.append((Path(str(item)), True, ""))
    return out


def _environment(svc: dict[str, Any], lookup: Lookup) -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    if "env_file" in svc:
        for path, required, env_format in _env_files(svc["env_file"]):
            try:
                values = read_dotenv(path, lookup, required=required, env_format=env_format)
            except ComposeFileNotFoundError:
                raise ComposeFileNotFoundError(
                    f"env file {path} not found: stat {path}: no such file or directory"
                ) from None
            for key, val in values.items():
                env[key] = val if val is not None else lookup(key)
    for key, val in to_mapping(svc.get("environment") or {}).items():
        text = env_value(val)
        env[key] = text if text is not None else lookup(key)
    return env


def _unresolved_environment(
    svc: dict[str, Any], out: dict[str, Any]
) -> dict[str, str | None]:
    """`--no-env-resolution`: `environment` as written (a bare key stays unset) and the
    env_file entries kept in `out`, in compose-go's long form, their files not read."""
    if "env_file" in svc:
        items = svc["env_file"] if isinstance(svc["env_file"], list) else [svc["env_file"]]
        written = [str(i["path"]) if isinstance(i, dict) else str(i) for i in items]
        out["env_file"] = [
            {"path": path, "required": required, **({"format": fmt} if fmt else {})}
            for path, (_, required, fmt) in zip(written, _env_files(svc["env_file"]), strict=True)
        ]
    return {k: env_value(v) for k, v in to_mapping(svc.get("environment") or {}).items()}


def _ulimits(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in value.items():
        if isinstance(limit, dict):
            out[name] = {k: to_int(v) for k, v in limit.items()}
        else:
            out[name] = to_int(limit)
    return out


def _depends_on(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in depends_on_mapping(value).items():
        spec = dict(spec or {})
        item: dict[str, Any] = {"condition": spec.get("condition") or "service_started"}
        if to_bool(spec.get("restart", False)):
            item["restart"] = True
        item["required"] = to_bool(spec.get("required", True))
        out[name] = item
    return out


def _networks(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in networks_mapping(value).items():
        if spec is None:
            out[name] = None
            continue
        item = dict(spec)
        if "aliases" in item and item["aliases"] is not None:
            item["aliases"] = unique([str(a) for a in item["aliases"]], _key_value)
        if isinstance(item.get("link_local_ips"), list):
            item["link_local_ips"] = unique(item["link_local_ips"], _key_value)
        for key in ("priority", "gw_priority"):
            if key in item:
                item[key] = to_int(item[key])
        out[name] = item
    return out


def _ports(value: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for position, entry in enumerate(value):
        try:
            items = parse_port(entry)
        except (ValueError, TypeError) as exc:
            raise NormalizeError(str(exc), suffix=f"[{position}]") from None
        for item in items:
            key = tuple(sorted((k, str(v)) for k, v in item.items()))
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def _volumes(value: list[Any], base: Path | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for position, entry in enumerate(value):
        try:
            item = parse_volume(entry, base)
        except (ValueError, TypeError) as exc:
            raise NormalizeError(str(exc), suffix=f"[{position}]") from None
        target = str(item.get("target"))
        if target in index:
            out[index[target]] = item
        else:
            index[target] = len(out)
            out.append(item)
    return out


def _build(value: Any) -> dict[str, Any]:
    out = {"context": value} if isinstance(value, str) else dict(value)
    out.setdefault("context", ".")
    if not out.get("dockerfile_inline"):
        out.setdefault("dockerfile", "Dockerfile")
    if "args" in out:
        out["args"] = {k: env_value(v) for k, v in to_mapping(out["args"]).items()}
    if "labels" in out:
        out["labels"] = {k: env_value(v) or "" for k, v in to_mapping(out["labels"]).items()}
    if "extra_hosts" in out:
        out["extra_hosts"] = sorted(set(extra_hosts_list(out["extra_hosts"])))
    return out


def _stop_signal(value: str) -> str:
    from engine import signal_problem

    problem = signal_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _capabilities(value: list[Any]) -> list[Any]:
    from engine import capability_problem

    for position, name in enumerate(value):
        problem = capability_problem(str(name))
        if problem:
            raise NormalizeError(problem, suffix=f"[{position}]")
    return value


def _restart(value: str) -> str:
    policy, _, retries = str(value).partition(":")
    valid = policy in ("no", "always", "unless-stopped") and not retries
    if not (valid or (policy == "on-failure" and (not retries or retries.isdigit()))):
        raise ValueError(
            f"invalid restart policy {value!r}: no, always, unless-stopped or on-failure[:N]"
        )
    return value


_HEALTH_DURATIONS = ("interval", "timeout", "start_period", "start_interval")
_MIN_HEALTH_DURATION = 0.001  # Docker's MinimumDuration


def _healthcheck(value: dict[str, Any]) -> dict[str, Any]:
    """As `docker compose config` prints it: durations in Go's shape (`1m30s`), a string
    test as CMD-SHELL. A malformed duration fails here, at load, naming its key."""
    out = dict(value)
    for key in _HEALTH_DURATIONS:
        if key in out:
            try:
                seconds = parse_duration(out[key])
            except ValueError as exc:
                raise NormalizeError(str(exc), suffix=f".{key}") from None
            if 0 < seconds < _MIN_HEALTH_DURATION:  # the daemon's check at create, at load
                name = key.title().replace("_", "")
                raise NormalizeError(f"{name} in Healthcheck cannot be less than 1ms (got "
                                     f"{out[key]}; 0 means the default)", suffix=f".{key}")
            out[key] = format_duration(seconds)
    if isinstance(out.get("test"), str):
        out["test"] = ["CMD-SHELL", out["test"]]
    retries = out.get("retries")
    if isinstance(retries, int | float) and retries < 0:  # the daemon's check, at load
        raise NormalizeError("Retries in healthcheck cannot be negative", suffix=".retries")
    return out


# compose-go's Duration fields of `deploy` (decoded, hence checked, at load)
_DEPLOY_DURATIONS = {
    "restart_policy": ("delay", "window"),
    "update_config": ("delay", "monitor"),
    "rollback_config": ("delay", "monitor"),
}


def _deploy(value: dict[str, Any]) -> dict[str, Any]:
    """`replicas` as an int and the resources' `memory` in bytes, as `docker compose config`
    prints them; a malformed size fails here, at load, naming its key."""
    out = dict(value)
    if "replicas" in out:
        out["replicas"] = to_int(out["replicas"])
    for name, keys in _DEPLOY_DURATIONS.items():
        part = out.get(name)
        if not isinstance(part, dict):
            continue
        part = dict(part)
        for key in keys:
            if part.get(key) is not None:
                try:
                    part[key] = format_duration(parse_duration(part[key]))
                except ValueError as exc:
                    raise NormalizeError(str(exc), suffix=f".{name}.{key}") from None
        out[name] = part
    resources = out.get("resources")
    if isinstance(resources, dict):
        resources = dict(resources)
        for kind in ("limits", "reservations"):
            section = resources.get(kind)
            if isinstance(section, dict) and section.get("memory") is not None:
                try:
                    memory = str(parse_byte_size(section["memory"]))
                except ValueError as exc:
                    raise NormalizeError(str(exc), suffix=f".resources.{kind}.memory") from None
                resources[kind] = {**section, "memory": memory}
        out["resources"] = resources
    return out


def _hooks(value: list[Any]) -> list[dict[str, Any]]:
    """`post_start` / `pre_stop` in long form: the command as a list (a string is split as a
    shell would), the environment as a mapping, privileged a bool (compose-go's ServiceHook)."""
    out = []
    for i, entry in enumerate(value):
        hook = dict(entry)
        try:
            hook["command"] = shell_split(entry["command"]) or []
            if "environment" in hook:
                hook["environment"] = {
                    k: env_value(x) for k, x in to_mapping(hook["environment"]).items()}
            if "privileged" in hook:
                hook["privileged"] = to_bool(hook["privileged"])
        except ValueError as exc:
            raise NormalizeError(str(exc), f"[{i}]") from None
        if not hook["command"]:
            raise NormalizeError("a hook needs a command", f"[{i}].command")
        out.append(hook)
    return out


def _string_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(x) for x in value]


def _watch_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One rule in compose-go's shape: empty and false fields left out (`omitempty`)."""
    out = dict(rule)
    for key in ("ignore", "include"):
        if key in out:
            out[key] = _string_list(out[key])
            if not out[key]:
                del out[key]
    if "initial_sync" in out and not to_bool(out["initial_sync"]):
        del out["initial_sync"]
    elif "initial_sync" in out:
        out["initial_sync"] = True
    hook = out.get("exec")
    if isinstance(hook, dict):
        hook = {**hook, "command": shell_split(hook.get("command"))}
        if "environment" in hook:
            env = to_mapping(hook["environment"])
            hook["environment"] = {k: env_value(v) for k, v in env.items()}
        if "privileged" in hook and not to_bool(hook["privileged"]):
            del hook["privileged"]
        elif "privileged" in hook:
            hook["privileged"] = True
        out["exec"] = hook
    return out


def _develop(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """`develop.watch` rules as `docker compose config` prints them: `ignore`/`include` as
    lists, `exec.command` as an argv, `exec.environment` as a mapping (paths were made
    absolute by compose.paths)."""
    if not value or "watch" not in value:
        return value
    rules = []
    for position, rule in enumerate(value["watch"] or []):
        try:
            rules.append(_watch_rule(rule))
        except ValueError as exc:
            raise NormalizeError(str(exc), suffix=f".watch[{position}]") from None
    return {**value, "watch": rules}


def normalize_service(
    name: str, svc: dict[str, Any] | None, base: Path, lookup: Lookup, *,
    resolve_paths: bool = True, resolve_env: bool = True,
) -> tuple[dict[str, Any], list[Problem]]:
    """One service in long syntax with absolute paths; env_file folded into environment.
    `config --no-path-resolution` / `--no-env-resolution` turn those two off."""
    problems: list[Problem] = []
    svc = dict(svc or {})
    svc = _unique_lists(resolve_service_paths(svc, base) if resolve_paths else svc)
    out: dict[str, Any] = {}

    def step(key: str, fn: Callable[[Any], Any]) -> None:
        if key not in svc:
            return
        try:
            out[key] = fn(svc[key])
        except (NormalizeError, ValueError, TypeError, KeyError) as exc:
            # Drop the bad value so later checks never see an unnormalized shape.
            out.pop(key, None)
            suffix = exc.suffix if isinstance(exc, NormalizeError) else ""
            problems.append(Problem(str(exc), key=f"services.{name}.{key}{suffix}"))

    for key, value in svc.items():
        if key not in ("extends", "env_file"):
            out[key] = value
    step("build", _build)
    step("command", shell_split)
    step("entrypoint", shell_split)
    try:
        env = _environment(svc, lookup) if resolve_env else _unresolved_environment(svc, out)
    except NormalizeError as exc:
        problems.append(Problem(str(exc), key=f"services.{name}.env_file{exc.suffix}"))
        env = {}
    except ValueError as exc:
        problems.append(Problem(str(exc), key=f"services.{name}.environment"))
        env = {}
    if env or "environment" in svc:
        out["environment"] = env
    step("depends_on", _depends_on)
    step("labels", lambda v: {k: env_value(x) or "" for k, x in to_mapping(v).items()})
    step("annotations", lambda v: {k: env_value(x) or "" for k, x in to_mapping(v).items()})
    # compose-go's Mapping: a list entry without `=` is the empty string (not "None" later)
    step("sysctls", lambda v: {k: env_value(x) or "" for k, x in to_mapping(v).items()})
    # compose-go prints a HostsList sorted, `host=ip`, one entry per address
    step("extra_hosts", lambda v: sorted(set(extra_hosts_list(v))))
    step("ports", _ports)
    step("expose", lambda v: [str(x) for x in v])
    step("volumes", lambda v: _volumes(v, base if resolve_paths else None))
    step("ulimits", _ulimits)
    step("stop_grace_period", lambda v: format_duration(parse_duration(v)))
    step("stop_signal", _stop_signal)
    step("restart", _restart)
    step("cap_add", _capabilities)
    step("cap_drop", _capabilities)
    step("healthcheck", _healthcheck)
    step("post_start", _hooks)
    step("pre_stop", _hooks)
    step("develop", _develop)
    for key in _SIZES:
        step(key, lambda v: str(parse_byte_size(v)))
    for key in _BOOLS:
        step(key, to_bool)
    for key in _INTS:
        step(key, to_int)
    step("dns", lambda v: [v] if isinstance(v, str) else list(v))
    step("dns_search", lambda v: [v] if isinstance(v, str) else list(v))
    step("tmpfs", lambda v: [v] if isinstance(v, str) else list(v))
    step("profiles", lambda v: [str(x) for x in v])
    if isinstance(svc.get("deploy"), dict):
        step("deploy", _deploy)
    step("models", lambda v: {name: spec for name, spec in networks_mapping(v).items()})
    if "networks" in svc:
        step("networks", _networks)
    elif not svc.get("network_mode"):
        out["networks"] = {"default": None}
    out.setdefault("command", None)
    out.setdefault("entrypoint", None)
    return dict(sorted(out.items())), problems


def service_uses_network(services: dict[str, Any], network: str) -> bool:
    return any(network in (svc.get("networks") or {}) for svc in services.values())


def _named(section: dict[str, Any], project: str, with_name: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, spec in section.items():
        item = dict(spec or {})
        external = item.get("external")
        if isinstance(external, dict):
            # Legacy `external: {name: x}`.
            item["name"] = external.get("name") or item.get("name") or key
            item["external"] = True
        elif external is not None:
            item["external"] = to_bool(external)
        if with_name:
            if item.get("external"):
                item.setdefault("name", key)
            else:
                item.setdefault("name", f"{project}_{key}")
        if "labels" in item:
            item["labels"] = {k: env_value(v) or "" for k, v in to_mapping(item["labels"]).items()}
        for flag in ("internal", "attachable", "enable_ipv6", "enable_ipv4"):
            if flag in item:
                item[flag] = to_bool(item[flag])
        out[key] = item
    return out


def _model(spec: dict[str, Any]) -> dict[str, Any]:
    """A top-level `models` entry as compose-go's ModelConfig prints it."""
    out = dict(spec)
    if "context_size" in out:
        out["context_size"] = to_int(out["context_size"])
    return out


def normalize_project(
    model: dict[str, Any], name: str, services: dict[str, Any]
) -> dict[str, Any]:
    """Top-level sections in `config` shape around already-normalized `services`."""
    out: dict[str, Any] = {"name": name, "services": services}
    networks = dict(model.get("networks") or {})
    if service_uses_network(services, "default") and "default" not in networks:
        networks["default"] = None
    if networks:
        out["networks"] = _named(networks, name)
    if model.get("volumes"):
        out["volumes"] = _named(model["volumes"], name)
    for section in ("configs", "secrets"):
        if model.get(section):
            out[section] = _named(model[section], name)
    if model.get("models"):
        out["models"] = {key: _model(spec) for key, spec in model["models"].items()}
    for key, value in model.items():
        if key.startswith("x-"):
            out[key] = value
    return out
