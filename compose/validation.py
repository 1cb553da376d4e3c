"""Validation of a stack file: the JSON schema, then checks across keys.

The schema is our own (`schemas/compose.schema.json`). jsonschema's messages describe the
schema, not the file, so they are rewritten in docker compose's words ("services.web.image
must be a string") and located with the YAML side table. Every problem is collected before
raising, so the user fixes a file in one pass.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compose.cache_dir import cache_root
from compose.errors import Problem
from compose.network_options import network_problems, service_address_problems
from compose.schema_file import schema_path
from compose.volume_options import volume_problems
from compose.yaml_source import KeyPath, Locations, format_key

if TYPE_CHECKING:  # jsonschema (~35 ms) and networkx (~55 ms) load only when they are needed
    import jsonschema
    from jsonschema.exceptions import ValidationError

# Documents that validated clean are remembered by a hash of (schema, document), so the next
# command on an unchanged file skips jsonschema altogether. Only successes are cached: a file
# with problems is validated (and reported) in full every time.
_CACHE_LIMIT = 1024

_TYPE_NAMES = {
    "object": "mapping",
    "array": "list",
    "string": "string",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "null": "null",
}


@functools.cache
def _schema_bytes() -> bytes:
    return schema_path().read_bytes()


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema

    schema = json.loads(_schema_bytes())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _cache_dir() -> Path | None:
    """Where clean validations are remembered (under compose.cache_dir's root); None (no
    caching) when caching is turned off."""
    root = cache_root()
    return root / "schema-ok" if root is not None else None


def _document_key(data: Any) -> str:
    """Hash of the schema and the document. repr keeps the types (1, "1" and True differ)
    that a JSON dump would merge."""
    digest = hashlib.sha256(_schema_bytes())
    digest.update(b"\0")
    digest.update(repr(data).encode("utf-8", "backslashreplace"))
    return digest.hexdigest()


def _known_valid(directory: Path | None, key: str) -> bool:
    return directory is not None and os.path.exists(directory / key)


def _remember_valid(directory: Path | None, key: str) -> None:
    """Best effort: a cache that cannot be written just means validating again next time."""
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        names = os.listdir(directory)
        if len(names) >= _CACHE_LIMIT:  # bounded: start over rather than track ages
            for name in names:
                os.unlink(directory / name)
        fd = os.open(directory / key, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        os.close(fd)
    except OSError:
        return


def _types_of(schema: Any) -> list[str]:
    """The JSON types a (sub)schema accepts, following oneOf branches."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _types_of(_validator().schema["$defs"][name])
    if "type" in schema:
        t = schema["type"]
        return [t] if isinstance(t, str) else list(t)
    out: list[str] = []
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        out.extend(_types_of(branch))
    return out


def _type_list(types: Iterable[str]) -> str:
    names = sorted({_TYPE_NAMES.get(t, t) for t in types})
    if len(names) == 1:
        return f"a {names[0]}" if names[0] not in ("null",) else names[0]
    joined = ", ".join(names[:-1]) + " or " + names[-1]
    return f"a {joined}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _fits(value_type: str, types: list[str]) -> bool:
    return value_type in types or (value_type == "integer" and "number" in types)


def _describe_all(error: ValidationError) -> list[tuple[KeyPath, str]]:
    """Key paths and messages for one schema error; a oneOf whose branch of the right type
    failed reports every failure inside that branch (several bad keys in one service)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        vtype = _json_type(error.instance)
        branches = error.schema.get(error.validator, [])
        for index, branch in enumerate(branches):
            if _fits(vtype, _types_of(branch)):
                sub = [e for e in error.context if e.schema_path and e.schema_path[0] == index]
                if sub:
                    out: list[tuple[KeyPath, str]] = []
                    for e in sub:
                        out.extend(_describe_all(e))
                    return out
    return [_describe(error)]


def _describe(error: ValidationError) -> tuple[KeyPath, str]:
    """The key path and a human message for one schema error."""
    path: KeyPath = tuple(error.absolute_path)
    if error.validator in ("oneOf", "anyOf"):
        # Descend into the branch whose type matches the value: that is what the user meant.
        vtype = _json_type(error.instance)
        branches = error.schema.get(error.validator, [])
        for index, branch in enumerate(branches):
            if _fits(vtype, _types_of(branch)) and error.context:
                sub = [e for e in error.context if e.schema_path and e.schema_path[0] == index]
                if sub:
                    best = max(sub, key=lambda e: len(e.absolute_path))
                    return _describe(best)
        # No branch has the value's type: name the first branch's type, as compose-go does.
        first = [t for t in _types_of(branches[0]) if t != "null"] if branches else []
        return path, f"must be {_type_list(first or _types_of(error.schema))}"
    if error.validator == "type":
        return path, f"must be {_type_list(_types_of(error.schema))}"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        extra = [
            e for e in extra
            if not any(re.match(p, e) for p in error.schema.get("patternProperties", {}))
        ]
        if "" in extra:  # compose-spec's `.+` keys: a variable, label or sysctl needs a name
            return path, "must not have an empty key"
        if extra:
            return (*path, extra[0]), f"additional properties '{', '.join(extra)}' not allowed"
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return (*path, missing), "is required"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return path, f"must be one of {allowed}"
    return path, str(error.message)


def schema_problems(data: Any, locations: Locations, file: str) -> list[Problem]:
    """Validate one (interpolated) document against the schema."""
    if not isinstance(data, dict):
        loc = locations.find(())
        return [Problem("top-level object must be a mapping", file, loc.line if loc else None)]
    directory = _cache_dir()
    key = _document_key(data)
    if _known_valid(directory, key):
        return []
    problems: list[Problem] = []
    described = [d for e in _validator().iter_errors(data) for d in _describe_all(e)]
    if not described:
        _remember_valid(directory, key)
    for path, message in sorted(described, key=lambda d: [str(p) for p in d[0]]):
        loc = locations.find(path)
        key = format_key(path)
        text = f"(root) {message}" if not key else f"{key} {message}"
        problems.append(
            Problem(text, loc.file if loc else file, loc.line if loc else None, key or None))
    return problems


def _acyclic(edges: dict[str, list[str]]) -> bool:
    """Kahn's algorithm, linear time: most files have no cycle, and this answers that without
    importing networkx."""
    indegree: dict[str, int] = {name: 0 for name in edges}
    for targets in edges.values():
        for dst in targets:
            indegree[dst] = indegree.get(dst, 0) + 1
    ready = [name for name, count in indegree.items() if count == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for dst in edges.get(node, ()):
            indegree[dst] -= 1
            if indegree[dst] == 0:
                ready.append(dst)
    return seen == len(indegree)


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a list of service names (first repeated at the end), if any."""
    if _acyclic(edges):
        return None
    import networkx as nx  # only to name the cycle, in the words users have seen before

    graph: nx.DiGraph = nx.DiGraph()
    for src, targets in edges.items():
        graph.add_node(src)
        for dst in targets:
            graph.add_edge(src, dst)
    # The linear-time acyclicity check first: find_cycle alone is quadratic on long chains.
    if nx.is_directed_acyclic_graph(graph):
        return None
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    names = [edge[0] for edge in cycle]
    return [*names, names[0]]


def _negative(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and float(value) < 0
    except (TypeError, ValueError):
        return False  # not a number: the schema or the runtime reports it


def _source(item: Any) -> str | None:
    """The top-level name a service's `secrets`/`configs` entry refers to (either syntax)."""
    if isinstance(item, dict):
        return str(item["source"]) if item.get("source") is not None else None
    return str(item) if item is not None else None


def _mount_reference_problems(
    name: str, svc: dict[str, Any], project: dict[str, Any], add: Callable[[str, KeyPath], None]
) -> None:
    """Secrets and configs (and build secrets) a service uses must be defined at the top level
    (compose-go's checkConsistency): otherwise the container would start without them."""
    value = svc.get("build")
    build: dict[str, Any] = value if isinstance(value, dict) else {}
    uses = (
        (("build", "secrets"), build.get("secrets"), "secrets", "build secret"),
        (("configs",), svc.get("configs"), "configs", "config"),
        (("secrets",), svc.get("secrets"), "secrets", "secret"),
    )
    for key, items, section, kind in uses:
        defined = project.get(section) or {}
        for i, item in enumerate(items or []):
            source = _source(item)
            if source is not None and source not in defined:
                add(f'service "{name}" refers to undefined {kind} {source}: invalid compose '
                    "project", ("services", name, *key, i))


def _model_reference_problems(
    name: str, svc: dict[str, Any], project: dict[str, Any], add: Callable[[str, KeyPath], None]
) -> None:
    """A service's `models` must name top-level models (compose-go's checkConsistency)."""
    uses = svc.get("models") or {}
    defined = project.get("models") or {}
    keys = enumerate(uses) if isinstance(uses, list) else ((m, m) for m in uses)
    for key, model in keys:
        if str(model) not in defined:
            add(f'service "{name}" refers to undefined model {model}: invalid compose project',
                ("services", name, "models", key))


def _watch_problems(
    name: str, svc: dict[str, Any], add: Callable[[str, KeyPath], None]
) -> None:
    """What the schema cannot say about `develop.watch`: a sync action needs the `target` to
    copy to (compose-go's check), a sync+exec one the command to run (docker compose refuses
    it when `watch` starts; here the file is refused when it loads)."""
    from compose.develop import SYNC_ACTIONS

    develop = svc.get("develop")
    rules = develop.get("watch") if isinstance(develop, dict) else None
    for i, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            continue
        action = rule.get("action")
        where: KeyPath = ("services", name, "develop", "watch", i)
        if action in SYNC_ACTIONS and not rule.get("target"):
            add(f"target is required for non-rebuild actions (action {action})", where)
        if action == "sync+exec" and not (rule.get("exec") or {}).get("command"):
            add(f'can\'t watch with action "sync+exec" on service {name} without a command',
                where)


def _extra_hosts_problems(
    svc: dict[str, Any], path: KeyPath, add: Callable[[str, KeyPath], None]
) -> None:
    """compose-go's check (a host without an address) and the daemon's (the address is an IP
    or `host-gateway`), at load: the engine's would only come at start, after the create.
    Entries are normalized to `host=address` by then."""
    import ipaddress

    for entry in svc.get("extra_hosts") or []:
        host, _, address = str(entry).partition("=")
        if not address:
            add(f"invalid additional host, missing IP: {host}", path)
            continue
        try:
            if address != "host-gateway":
                ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            add(f"invalid IP address in add-host: {address!r} (for {host})", path)


# compose-spec's mount types this engine has no mount for (Windows' named pipes, Swarm's
# cluster volumes, image mounts): refused at load, rather than mounted as a volume by accident.
_FOREIGN_MOUNTS = frozenset({"npipe", "cluster", "image"})

# compose-go's format check of `expose` (moby's ParsePortRange): 80, 8000-8010, 53/udp
_EXPOSE = re.compile(r"\d{1,5}(-\d{1,5})?(/(tcp|udp|sctp))?", re.IGNORECASE)


def _expose_problem(port: str) -> str | None:
    """What is wrong with an `expose` entry: Docker's nat.ParsePortRange refuses a number
    outside 16 bits and a range that ends before it starts; port 0 exposes nothing (the
    `ports` targets are 1-65535 too, compose.port_syntax)."""
    match = _EXPOSE.fullmatch(port)
    if not match:
        return f"{port!r} is not a port or port range (PORT[-PORT][/PROTOCOL])"
    first, _, last = port.split("/")[0].partition("-")
    numbers = [int(first), int(last or first)]
    if not all(1 <= n <= 65535 for n in numbers):
        return f"invalid port {port!r}: ports are 1-65535"
    if numbers[1] < numbers[0]:
        return f"invalid port range {port!r}: it ends before it starts"
    return None


# What Docker refuses for a container in another's network namespace (its
# validateNetContainerMode): key -> its words.
_JOINED_CONFLICTS = {
    "ports": "port publishing and the container type network mode",
    "expose": "port exposing and the container type network mode",
    "hostname": "hostname and the network mode",
    "dns": "dns and the network mode",
    "extra_hosts": "custom host-to-IP mapping and the network mode",
    "mac_address": "mac-address and the network mode",
}


def _joined_namespace_problems(
    svc: dict[str, Any], base: KeyPath, add: Callable[[str, KeyPath], None]
) -> None:
    """At load, what the engine would otherwise ignore: the namespace's owner has them."""
    for key, words in _JOINED_CONFLICTS.items():
        if svc.get(key) not in (None, "", [], {}):
            add(f"conflicting options: {words} (network_mode: {svc['network_mode']})",
                (*base, key))


def _mac_problems(svc: dict[str, Any], base: KeyPath, add: Callable[[str, KeyPath], None]) -> None:
    """The daemon's check of `mac_address` (the service's and each network's), at load."""
    wanted: list[tuple[Any, KeyPath]] = [(svc.get("mac_address"), (*base, "mac_address"))]
    for net, spec in (svc.get("networks") or {}).items():
        if isinstance(spec, dict):
            wanted.append((spec.get("mac_address"), (*base, "networks", net, "mac_address")))
    wanted = [(value, path) for value, path in wanted if value not in (None, "")]
    if not wanted:
        return
    from engine.api import unicast_mac

    for value, path in wanted:
        if not unicast_mac(str(value)):
            add(f"{value} is not a valid mac address", path)


def _definition_problems(project: dict[str, Any], add: Callable[[str, KeyPath], None]) -> None:
    """A secret needs a `file` or an `environment`, a config also may have `content`: without
    one there is nothing to mount."""
    for section, kind, sources in (
        ("secrets", "secret", ("file", "environment")),
        ("configs", "config", ("file", "environment", "content")),
    ):
        for name, spec in (project.get(section) or {}).items():
            spec = spec or {}
            if spec.get("external") or any(spec.get(k) not in (None, "") for k in sources):
                continue
            wanted = ", ".join(f"`{k}`" for k in sources[:-1]) + f" or `{sources[-1]}`"
            add(f'{kind} "{name}" must declare either {wanted}: invalid compose project',
                (section, name))


def cross_problems(
    project: dict[str, Any], locations: Locations, consistency: bool = True
) -> list[Problem]:
    """Checks the schema cannot express: references between keys, exclusivity, cycles.
    `consistency=False` (`config --no-consistency`) skips what compose-go's checkConsistency
    checks: references to undefined services, networks, volumes, secrets and configs, a
    service without image or build, and container name unicity."""
    problems: list[Problem] = []

    def add(message: str, path: KeyPath) -> None:
        loc = locations.find(path)
        problems.append(Problem(message, loc.file if loc else None, loc.line if loc else None,
                                format_key(path)))

    def dangling(message: str, path: KeyPath) -> None:
        if consistency:
            add(message, path)

    services: dict[str, Any] = project.get("services") or {}
    networks = set((project.get("networks") or {}).keys()) | {"default"}
    volumes = set((project.get("volumes") or {}).keys())
    net_specs: dict[str, Any] = project.get("networks") or {}
    for net_name, net_spec in net_specs.items():
        if isinstance(net_spec, dict) and not net_spec.get("external"):
            network_problems(net_name, net_spec, add)
    for vol_name, vol_spec in (project.get("volumes") or {}).items():
        if isinstance(vol_spec, dict):
            volume_problems(vol_name, vol_spec, add)
    edges: dict[str, list[str]] = {}
    named: dict[str, str] = {}  # container_name -> the service that took it first
    for name, svc in services.items():
        base: KeyPath = ("services", name)
        container_name = svc.get("container_name")
        if container_name in named:
            dangling(f'container name "{container_name}" is taken by service '
                     f'{named[container_name]} too (it must be unique)', (*base, "container_name"))
        elif container_name:
            named[container_name] = name
        if _negative(svc.get("cpus")):
            add(f"must not be negative (got {svc['cpus']})", (*base, "cpus"))
        deps = svc.get("depends_on") or {}
        edges[name] = []
        for dep, spec in deps.items():
            if dep not in services:
                if (spec or {}).get("required", True) is False:
                    continue
                dangling(f'service "{name}" depends on undefined service "{dep}": invalid compose '
                    "project", (*base, "depends_on", dep))
            else:
                edges[name].append(dep)
        if not svc.get("image") and not svc.get("build"):
            dangling(f'service "{name}" has neither an image nor a build context specified: '
                "invalid compose project", base)
        if svc.get("network_mode") and svc.get("networks"):
            add(f"service {name} declares mutually exclusive `network_mode` and `networks`",
                (*base, "network_mode"))
        for net in svc.get("networks") or {}:
            if net not in networks:
                dangling(f'service "{name}" refers to undefined network {net}: invalid compose '
                    "project", (*base, "networks", net))
            elif not (net_specs.get(net) or {}).get("external"):
                service_address_problems(
                    name, net, (svc["networks"] or {}).get(net) or {}, net_specs.get(net) or {},
                    add)
        for i, vol in enumerate(svc.get("volumes") or []):
            target = str(vol.get("target") or "")
            if target and not target.startswith("/"):  # Docker's create refuses it
                add(f'invalid mount config for type "{vol.get("type")}": invalid mount path: '
                    f"'{target}' mount path must be absolute", (*base, "volumes", i))
            if vol.get("type") in _FOREIGN_MOUNTS:
                add(f"mount type {vol['type']} is not supported by pycompose's engine (bind, "
                    "volume or tmpfs)", (*base, "volumes", i))
            if vol.get("type") == "volume" and vol.get("source") and vol["source"] not in volumes:
                dangling(f'service "{name}" refers to undefined volume {vol["source"]}: invalid '
                    "compose project", (*base, "volumes", i))
        userns = svc.get("userns_mode")
        if userns not in (None, "", "host"):
            add(f'service "{name}": userns_mode {userns!r} is not supported: only "host" (the '
                "default: no user namespace, as Docker without userns-remap)",
                (*base, "userns_mode"))
        mode = svc.get("network_mode") or ""
        if mode.startswith(("service:", "container:")):
            _joined_namespace_problems(svc, base, add)
        if mode.startswith("service:"):
            other = mode.split(":", 1)[1]
            if other not in services:
                dangling(f'service "{name}" uses network_mode of undefined service "{other}"',
                    (*base, "network_mode"))
        for i, ref in enumerate(svc.get("volumes_from") or []):
            other = ref.split(":", 1)[0]
            if not ref.startswith("container:") and other not in services:
                dangling(f'service "{name}" mounts volumes from undefined service "{other}"',
                    (*base, "volumes_from", i))
        _mount_reference_problems(name, svc, project, dangling)
        _model_reference_problems(name, svc, project, dangling)
        _watch_problems(name, svc, add)
        _extra_hosts_problems(svc, (*base, "extra_hosts"), add)
        _mac_problems(svc, base, add)
        for i, device in enumerate(svc.get("devices") or []):
            if isinstance(device, str) and device.count(":") > 2:  # compose-go's transform
                add(f"confusing device mapping, please use long syntax: {device}",
                    (*base, "devices", i))
        for i, port in enumerate(svc.get("expose") or []):
            problem = _expose_problem(str(port))
            if problem:
                add(problem, (*base, "expose", i))
    _definition_problems(project, add)
    cycle = find_cycle(edges)
    if cycle:
        add(f"dependency cycle detected: {' -> '.join(cycle)}", ("services", cycle[0]))
    return problems
