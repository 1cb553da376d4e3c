"""`build --print`: the Bake file docker compose would hand to `docker buildx bake`.

Scripts and CI use it to see (or feed another builder) what a build would do without building.
Every service with a `build:` section is a target; the `default` group lists the services the
command would build. Field names, order and omissions follow compose's bakeTarget (Go's JSON
of that struct: empty fields left out, map keys sorted).
"""

from __future__ import annotations

import os

from compose.image_policy import build_args, build_section, image_name

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from compose.model import Project, Service


def target_names(project: Project) -> dict[str, str]:
    """Service -> Bake target: a dot is not allowed in a target name."""
    return {name: name.replace(".", "_") for name in project.services}


def _dockerfile(context: str, dockerfile: str | None) -> str:
    if not dockerfile:
        return ""
    path = dockerfile if os.path.isabs(dockerfile) else os.path.join(context, dockerfile)
    return os.path.realpath(path) if os.path.exists(path) else path


def _secrets(project: Project, refs: list[Any]) -> list[str]:
    defined = project.raw.get("secrets") or {}
    out = []
    for ref in refs:
        source = ref if isinstance(ref, str) else str(ref.get("source", ""))
        target = source if isinstance(ref, str) else str(ref.get("target") or source)
        definition = defined.get(source) or {}
        if definition.get("environment"):
            out.append(f"id={target},type=env,env={definition['environment']}")
        elif definition.get("file"):
            out.append(f"id={target},type=file,src={definition['file']}")
    return out


def _ssh(keys: list[Any]) -> list[str]:
    out = []
    for key in keys:
        ident, _, path = str(key).partition("=")
        out.append(f"{ident}={path}")
    return out


def _ulimits(limits: dict[str, Any]) -> list[str]:
    out = []
    for name, limit in limits.items():
        if isinstance(limit, dict):
            out.append(f"{name}={limit.get('soft')}:{limit.get('hard')}")
        else:
            out.append(f"{name}={limit}")
    return out


def _extra_hosts(entries: list[str]) -> dict[str, str]:
    hosts: dict[str, list[str]] = {}
    for entry in entries:
        host, _, address = entry.partition("=")
        hosts.setdefault(host, []).append(address)
    return {host: ",".join(addresses) for host, addresses in sorted(hosts.items())}


def _target(
    project: Project, service: Service, section: dict[str, Any], targets: dict[str, str],
    *, args: dict[str, str | None], pull: bool, no_cache: bool, push: bool,
) -> dict[str, Any]:
    context = str(section.get("context") or ".")
    contexts = {
        key: f"target:{targets.get(value[len('service:'):], '')}"
        if str(value).startswith("service:") else str(value)
        for key, value in sorted((section.get("additional_contexts") or {}).items())
    }
    platforms = [str(p) for p in section.get("platforms") or []]
    entitlements = [str(e) for e in section.get("entitlements") or []]
    if section.get("privileged"):
        entitlements.append("security.insecure")
    output = f"type=image,push={str(push).lower()}" if len(platforms) > 1 else (
        f"type=docker,load=true,push={str(push).lower()}")
    fields: dict[str, Any] = {
        "context": context,
        "contexts": contexts,
        "dockerfile": _dockerfile(context, section.get("dockerfile")),
        "dockerfile-inline": str(section.get("dockerfile_inline") or "").replace("${", "$${"),
        "args": dict(sorted(build_args(project, section, args).items())),
        "labels": dict(sorted((section.get("labels") or {}).items())),
        "tags": [*(str(t) for t in section.get("tags") or []), image_name(project, service)],
        "cache-from": [str(c) for c in section.get("cache_from") or []],
        "target": str(section.get("target") or ""),
        "secret": _secrets(project, list(section.get("secrets") or [])),
        "ssh": _ssh(list(section.get("ssh") or [])),
        "platforms": platforms,
        "pull": pull,
        "no-cache": no_cache,
        "shm-size": int(section.get("shm_size") or 0),
        "ulimits": _ulimits(dict(section.get("ulimits") or {})),
        "entitlements": entitlements,
        "extra-hosts": _extra_hosts([str(h) for h in section.get("extra_hosts") or []]),
        "output": [output],
    }
    return {key: value for key, value in fields.items() if value}


def bake_file(
    project: Project, chosen: list[str], *, args: dict[str, str | None], pull: bool,
    no_cache: bool, push: bool,
) -> dict[str, Any]:
    """The Bake definition: a target per buildable service, `default` naming `chosen`'s."""
    targets = target_names(project)
    definitions = {}
    for name, service in project.services.items():
        section = build_section(service)
        if section is None:
            continue
        definitions[targets[name]] = _target(
            project, service, section, targets, args=args, pull=pull, no_cache=no_cache,
            push=push and bool(service.image),
        )
    group = [targets[n] for n in chosen if build_section(project.services[n]) is not None]
    return {
        "group": {"default": {"targets": group or None}},
        "target": dict(sorted(definitions.items())),
    }
