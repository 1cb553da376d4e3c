"""Merging stack files (and extends/include results) by the Compose specification's rules.

Mappings merge key by key; most sequences are appended (profiles and network aliases too);
some are merged by a key (volumes by target, secrets/configs by where they are mounted);
`environment`, `labels` and friends merge as mappings in either syntax; `command`/`entrypoint`
are replaced. Duplicates left by appending are removed in compose.normalize (compose-go's
EnforceUnicity). `!reset` removes a key and `!override`
replaces it wholesale, at any depth.
"""

from __future__ import annotations

from collections.abc import Callable

from compose.volume_syntax import volume_target
from compose.yaml_source import Override, Reset

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

_REPLACE = {"command", "entrypoint", "healthcheck.test", "image"}
_APPEND = {
    "profiles", "ports", "expose", "dns", "dns_search", "dns_opt", "tmpfs", "cap_add", "cap_drop",
    "security_opt", "devices", "external_links", "links", "volumes_from", "group_add",
    "env_file", "label_file", "device_cgroup_rules", "post_start", "pre_stop",
    "build.cache_from", "build.cache_to", "build.tags", "build.platforms",
}
_MAPPING_LIKE = {
    "environment", "labels", "annotations", "sysctls", "build.args", "build.labels",
    "deploy.labels", "build.additional_contexts",
    "build.ssh",
}


def strip_markers(value: Any) -> Any:
    """The value with `!override` unwrapped and `!reset` keys dropped (nothing to merge onto)."""
    if isinstance(value, Override):
        return strip_markers(value.value)
    if isinstance(value, dict):
        return {k: strip_markers(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_markers(v) for v in value if not isinstance(v, Reset)]
    if isinstance(value, Reset):
        return None
    return value


def has_markers(value: Any) -> bool:
    if isinstance(value, Reset | Override):
        return True
    if isinstance(value, dict):
        return any(has_markers(v) for v in value.values())
    if isinstance(value, list):
        return any(has_markers(v) for v in value)
    return False


def to_mapping(value: Any, separator: str = "=") -> dict[str, Any]:
    """`[K=V, K]` or `{K: V}` as a mapping (bare `K` maps to None)."""
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value or []:
        if isinstance(item, Reset | Override):
            continue
        text = str(item)
        if separator in text:
            key, val = text.split(separator, 1)
            out[key] = val
        else:
            out[text] = None
    return out


def extra_hosts_list(value: Any) -> list[str]:
    """`extra_hosts` in either syntax as `host=ip` entries: a host may have several
    addresses (compose-go's HostsList), so merging appends instead of replacing a host."""
    if isinstance(value, dict):
        return [
            f"{host}={ip}" for host, ips in value.items()
            for ip in (ips if isinstance(ips, list) else [ips])
        ]
    out: list[str] = []
    for item in value if isinstance(value, list) else [value] if value else []:
        text = str(item)
        sep = "=" if "=" in text else ":"
        host, _, ip = text.partition(sep)
        out.append(f"{host}={ip}")
    return out


def depends_on_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    return {str(name): {"condition": "service_started"} for name in value or []}


def networks_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    return {str(name): None for name in value or []}


def by_key(key: Callable[[Any], Any]) -> Callable[[list[Any], list[Any]], list[Any]]:
    """Sequence merge where an override item replaces the base item with the same key."""

    def merge(base: list[Any], over: list[Any]) -> list[Any]:
        out = list(base)
        index = {key(item): i for i, item in enumerate(out) if key(item) is not None}
        for item in over:
            k = key(item)
            if k is not None and k in index:
                out[index[k]] = item
            else:
                if k is not None:
                    index[k] = len(out)
                out.append(item)
        return out

    return merge


def mount_key(default_dir: str) -> Callable[[Any], Any]:
    """compose-go's mountIndexer: a service's `secrets`/`configs` entry is keyed by where it
    is mounted (its target, else `<default_dir>/<source>`), so an override that mounts another
    secret at the same path replaces the first one."""

    def key(item: Any) -> Any:
        if isinstance(item, dict):
            if item.get("target") is not None:
                return str(item["target"])
            return f"{default_dir}/{item.get('source')}"
        return f"{default_dir}/{item}"

    return key


def _merge_sequence(path: str, base: Any, over: Any) -> Any:
    if path == "volumes":
        return by_key(volume_target)(list(base), list(over))
    if path == "secrets":
        return by_key(mount_key("/run/secrets"))(list(base), list(over))
    if path == "configs":
        return by_key(mount_key(""))(list(base), list(over))
    network_list = path.startswith("networks.") and path.endswith((".aliases", ".link_local_ips"))
    if path in _APPEND or network_list:
        base_list = base if isinstance(base, list) else [base]
        over_list = over if isinstance(over, list) else [over]
        unique = path in ("dns", "expose")
        return base_list + [o for o in over_list if not unique or o not in base_list]
    return over


def merge_value(path: str, base: Any, over: Any) -> Any:
    """Merge `over` onto `base`; `path` is the dotted key inside a service ("" at the top)."""
    if isinstance(over, Override):
        return strip_markers(over.value)
    if isinstance(over, Reset):
        return None
    if base is None:
        return strip_markers(over) if not isinstance(over, dict) else merge_mapping(path, {}, over)
    if path in _REPLACE:
        return strip_markers(over)
    if path in ("extra_hosts", "build.extra_hosts"):
        return extra_hosts_list(base) + extra_hosts_list(strip_markers(over))
    if path in _MAPPING_LIKE:
        if isinstance(over, dict):
            return merge_mapping(path, to_mapping(base), over)
        return merge_mapping(path, to_mapping(base), to_mapping(over))
    if path == "depends_on":
        return merge_mapping(path, depends_on_mapping(base), depends_on_mapping(over)
                             if not isinstance(over, dict) else over)
    if path in ("networks", "models"):  # both a list of names or a mapping of options
        return merge_mapping(path, networks_mapping(base), networks_mapping(over)
                             if not isinstance(over, dict) else over)
    if path == "build":
        base = {"context": base} if isinstance(base, str) else base
        over = {"context": over} if isinstance(over, str) else over
    if path == "ulimits" and isinstance(over, dict) and isinstance(base, dict):
        return {**base, **strip_markers(over)}
    if (
        path == "logging" and isinstance(base, dict) and isinstance(over, dict)
        and over.get("driver") and base.get("driver") and over["driver"] != base["driver"]
    ):
        return strip_markers(over)
    if isinstance(base, dict) and isinstance(over, dict):
        return merge_mapping(path, base, over)
    if (isinstance(base, list) and isinstance(over, list | str)) or path in _APPEND:
        return _merge_sequence(path, base, strip_markers(over))
    return strip_markers(over)


def merge_mapping(path: str, base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        child = f"{path}.{key}" if path else key
        if isinstance(value, Reset):
            out.pop(key, None)
            continue
        if key in out:
            out[key] = merge_value(child, out[key], value)
        else:
            out[key] = merge_value(child, None, value)
    return out


def merge_service(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """One service definition merged onto another (overrides and extends)."""
    return merge_mapping("", base or {}, over or {})


def merge_documents(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A whole stack file merged onto the model built so far."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Reset):
            out.pop(key, None)
        elif key == "services" and isinstance(value, dict):
            services = dict(out.get("services") or {})
            for name, svc in value.items():
                if isinstance(svc, Reset):
                    services.pop(name, None)
                elif isinstance(svc, Override):
                    services[name] = strip_markers(svc.value)
                elif name in services:
                    services[name] = merge_service(services[name] or {}, svc or {})
                else:
                    services[name] = merge_service({}, svc or {})
            out["services"] = services
        elif isinstance(value, Override):
            out[key] = strip_markers(value.value)
        elif key in out and isinstance(out[key], dict) and isinstance(value, dict):
            section = dict(out[key])
            for name, item in value.items():
                if isinstance(item, Reset):
                    section.pop(name, None)
                elif isinstance(section.get(name), dict) and isinstance(item, dict):
                    section[name] = merge_mapping("", section[name], item)
                else:
                    section[name] = strip_markers(item)
            out[key] = section
        else:
            out[key] = strip_markers(value)
    return out
