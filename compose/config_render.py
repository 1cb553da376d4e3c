"""Rendering a loaded project the way `docker compose config` prints it.

JSON keeps `command`/`entrypoint` as null when unset (docker compose does); YAML omits them.
"""

from __future__ import annotations

import dataclasses
import json

import yaml

from compose.errors import ServiceNotFoundError
from compose.model import Project

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


class _Dumper(yaml.SafeDumper):
    """Block-style YAML with multi-line strings as literal blocks, keys in given order."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _without_null_commands(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    services = {}
    for name, svc in (raw.get("services") or {}).items():
        services[name] = {
            k: v for k, v in svc.items() if not (k in ("command", "entrypoint") and v is None)
        }
    out["services"] = services
    return out


def _sorted(value: Any, escape: bool = True) -> Any:
    """Mappings with sorted keys at every depth (lists keep their order): output that can be
    diffed, like docker compose's (Go maps marshal sorted). A literal `$` is written `$$`, as
    docker compose writes it: the output reads back as the same project. Not escaped
    (`escape=False`) when nothing was interpolated: `${VAR}` is printed as written."""
    if isinstance(value, dict):
        return {key: _sorted(value[key], escape) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(item, escape) for item in value]
    if isinstance(value, str) and escape:
        return value.replace("$", "$$")
    return value


def _stable(raw: dict[str, Any], escape: bool = True) -> dict[str, Any]:
    """Top-level keys in docker compose's order (name, services, networks, …), the rest sorted."""
    return {key: _sorted(value, escape) for key, value in raw.items()}


def _with_dependencies(project: Project, names: list[str]) -> list[str]:
    """`names` and everything they need started first (depends_on, links, network_mode,
    volumes_from…), in the project's order, as compose-go's WithSelectedServices keeps them."""
    from compose.graph import dependencies

    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted or name not in project.services:
            continue
        wanted.add(name)
        todo += [dep.service for dep in dependencies(project.services[name])]
    return [name for name in project.services if name in wanted]


def _used_resources(services: dict[str, Any]) -> dict[str, set[str]]:
    """Top-level names the (normalized) services refer to, as compose-go's
    WithoutUnnecessaryResources collects them."""
    used: dict[str, set[str]] = {"networks": set(), "volumes": set(), "secrets": set(),
                                 "configs": set(), "models": set()}
    for svc in services.values():
        used["networks"].update(svc.get("networks") or {})
        used["models"].update(svc.get("models") or {})
        used["volumes"].update(
            str(v["source"]) for v in svc.get("volumes") or []
            if isinstance(v, dict) and v.get("type") == "volume" and v.get("source"))
        build = svc.get("build") if isinstance(svc.get("build"), dict) else {}
        for section, items in (("secrets", svc.get("secrets")), ("configs", svc.get("configs")),
                               ("secrets", (build or {}).get("secrets"))):
            used[section].update(
                str(i.get("source")) if isinstance(i, dict) else str(i) for i in items or [])
    return used


def select_services(project: Project, names: list[str]) -> Project:
    """`config SERVICE...`: the project restricted to those services and their dependencies,
    without the networks, volumes, secrets, configs and models nothing left uses (docker
    compose)."""
    for name in names:
        if name not in project.services:
            raise ServiceNotFoundError(f"no such service: {name}")
    keep = _with_dependencies(project, names)
    raw = dict(project.raw)
    raw["services"] = {n: s for n, s in (project.raw.get("services") or {}).items() if n in keep}
    used = _used_resources(raw["services"])
    for section, names_used in used.items():
        if section in raw:
            raw[section] = {k: v for k, v in raw[section].items() if k in names_used}
            if not raw[section]:
                del raw[section]
    return dataclasses.replace(
        project,
        services={n: s for n, s in project.services.items() if n in keep},
        networks={k: v for k, v in project.networks.items() if k in used["networks"]},
        volumes={k: v for k, v in project.volumes.items() if k in used["volumes"]},
        raw=raw,
    )


def without_unused_resources(project: Project) -> Project:
    """The project without the networks, volumes, secrets, configs and models no service uses:
    what docker compose loads unless `--all-resources` is given (compose-go's
    WithoutUnnecessaryResources, applied by every command since Compose v2.27)."""
    return select_services(project, list(project.services))


def render_project(project: Project, fmt: str = "yaml", escape: bool = True) -> str:
    """The whole project in `yaml` or `json`; `escape=False`: `$` printed as is (the project
    was loaded without interpolation)."""
    return render_model(project.raw, fmt, escape)


def render_model(raw: dict[str, Any], fmt: str = "yaml", escape: bool = True) -> str:
    """A model (normalized or as merged, `config --no-normalize`) in `yaml` or `json`."""
    if fmt == "json":
        return json.dumps(_stable(raw, escape), indent=2) + "\n"
    return yaml.dump(
        _stable(_without_null_commands(raw), escape), Dumper=_Dumper, sort_keys=False,
        default_flow_style=False, allow_unicode=True,
    )


def render_services(project: Project) -> str:
    return "".join(f"{name}\n" for name in project.services)


def render_volumes(project: Project) -> str:
    return "".join(f"{key}\n" for key in project.volumes)


def render_models(project: Project) -> str:
    """`config --models`: the top-level models' names (their keys, not `name:`)."""
    return "".join(f"{key}\n" for key in sorted(project.raw.get("models") or {}))


def render_profiles(project: Project) -> str:
    return "".join(f"{p}\n" for p in project.all_profiles)


def render_images(project: Project) -> str:
    """Image per service; built services without `image` get docker compose's default name."""
    lines = []
    for name, svc in project.services.items():
        lines.append(svc.image or f"{project.name}-{name}")
    return "".join(f"{line}\n" for line in lines)


def render_networks(project: Project) -> str:
    return "".join(f"{key}\n" for key in sorted(project.networks))


def render_environment(project: Project) -> str:
    """`config --environment`: what interpolation read from (the shell over `.env`)."""
    return "".join(f"{key}={value}\n" for key, value in sorted(project.environment.items()))


def render_variables(project: Project) -> str:
    """`config --variables`: every variable the stack files refer to, as docker compose's
    table (NAME, REQUIRED, DEFAULT VALUE, ALTERNATE VALUE), read from the files as written."""
    from compose.interpolation import Reference, references
    from compose.yaml_source import parse_documents

    found: dict[str, Reference] = {}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for reference in references(value):
                found.setdefault(reference.name, reference)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in project.config_files:
        if str(path) == "-":
            continue  # stdin was read once, by the load
        for document in parse_documents(path.read_text(encoding="utf-8"), str(path)):
            walk(document.data)
    rows = [("NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE")] + [
        (r.name, str(r.required).lower(), r.default, r.alternate)
        for r in sorted(found.values(), key=lambda r: r.name)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        "".join(cell.ljust(width + 3) for cell, width in zip(row, widths, strict=False))
        + row[3] + "\n"
        for row in rows
    )
