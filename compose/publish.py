"""`publish`: what goes into a project's OCI artifact, and what must be refused or confirmed
before anything leaves the machine (docker compose's pkg/compose/publish.go).

Each compose file is published as written (comments and formatting kept), except that
`env_file` and `extends.file` paths are rewritten to the names their own layers get in the
artifact (`<sha256 of the path>.env` / `.yaml`): a reader unpacks every layer into one
directory, where those names resolve. The checks run on the project loaded with every profile
active, as docker compose's: services that only have a `build` section cannot be published;
`environment`/`env_file` need `--with-env` (and then a confirmation); bind mounts need a
confirmation (only their declaration is published, never their content).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compose.dotenv import chain_lookup
from compose.errors import ComposeError
from compose.interpolation import interpolate
from compose.model import MountType, Project
from compose.oci_artifact import (
    Layer,
    compose_file_layer,
    env_file_layer,
    is_oci_reference,
)
from compose.paths import absolute
from engine import sha256_hex

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

# Asks the user a yes/no question (the whole text, question last); False refuses.
Confirm = Callable[[str], bool]

ENV_SUFFIX = (
    "To avoid leaking sensitive data, you must either explicitly allow the sending of "
    "environment variables by using the --with-env flag,\n"
    "or remove sensitive data from your Compose configuration"
)


@dataclass(frozen=True)
class ScannedFile:
    """One stack file as it will be published, and the local files it points to."""

    data: bytes
    env_files: dict[str, str] = field(default_factory=dict)  # absolute path -> layer name
    extends_files: dict[str, str] = field(default_factory=dict)  # absolute path -> layer name
    local_includes: tuple[str, ...] = ()


def _layer_name(path: str, suffix: str) -> str:
    return sha256_hex(path.encode()) + suffix


def _get(node: Node, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for key_node, value in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return value
    return None


def _env_file_scalars(node: Node) -> list[ScalarNode]:
    """The path scalars of an `env_file` value: `a.env`, `[a.env, {path: b.env}]`."""
    items = node.value if isinstance(node, SequenceNode) else [node]
    found: list[ScalarNode] = []
    for item in items:
        target = _get(item, "path") if isinstance(item, MappingNode) else item
        if isinstance(target, ScalarNode):
            found.append(target)
    return found


def scan_file(path: Path, base: Path, env: Mapping[str, str]) -> ScannedFile:
    """Read `path` and rewrite its `env_file` and `extends.file` paths (relative paths resolve
    against the project directory `base`, as docker compose resolves them for publishing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ComposeError(f"cannot publish {path}: {reason}",
                           hint="publish reads the stack files again (not stdin)") from None
    lookup = chain_lookup(env)
    edits: list[tuple[int, int, str]] = []
    env_files: dict[str, str] = {}
    extends_files: dict[str, str] = {}
    includes: list[str] = []

    def resolved(node: ScalarNode) -> str:
        return absolute(interpolate(node.value, lookup), base)

    for doc in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if doc is None:
            continue
        include = _get(doc, "include")
        if isinstance(include, SequenceNode):
            for entry in include.value:
                target = _get(entry, "path") if isinstance(entry, MappingNode) else entry
                values = target.value if isinstance(target, SequenceNode) else [target]
                includes += [v.value for v in values if isinstance(v, ScalarNode)
                             and not is_oci_reference(v.value)]
        services = _get(doc, "services")
        if not isinstance(services, MappingNode):
            continue
        for _, service in services.value:
            declared = _get(service, "env_file")
            for scalar in _env_file_scalars(declared) if declared is not None else []:
                name = env_files.setdefault(resolved(scalar), _layer_name(resolved(scalar), ".env"))
                edits.append((scalar.start_mark.index, scalar.end_mark.index, name))
            extends = _get(service, "extends")
            other = _get(extends, "file") if extends is not None else None
            if isinstance(other, ScalarNode) and not is_oci_reference(other.value):
                target = resolved(other)
                if not Path(target).is_file():
                    continue  # not a local file: a remote resource, published as a reference
                name = extends_files.setdefault(target, _layer_name(target, ".yaml"))
                edits.append((other.start_mark.index, other.end_mark.index, name))
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return ScannedFile(text.encode(), env_files, extends_files, tuple(includes))


def project_layers(
    project: Project, with_env: bool, pinned: Mapping[str, str] | None = None
) -> list[Layer]:
    """The artifact's layers: the compose files in order, the files they extend, the env
    files (with `--with-env`), and with `--resolve-image-digests` an `image-digests.yaml`
    pinning each service's image."""
    base, env = project.working_dir, project.environment
    scans = [scan_file(f, base, env) for f in project.config_files]
    layers = [compose_file_layer(f.name, s.data) for f, s in zip(project.config_files, scans,
                                                                  strict=True)]
    env_files: dict[str, str] = {}
    extends: dict[str, str] = {}
    for scan in scans:
        env_files.update(scan.env_files)
        extends.update(scan.extends_files)
    pending = list(extends.items())
    while pending:
        path, name = pending.pop(0)
        scan = scan_file(Path(path), base, env)
        layers.append(compose_file_layer(name, scan.data, extends=True))
        for other, other_name in scan.extends_files.items():
            if other not in extends:
                extends[other] = other_name
                pending.append((other, other_name))
    if with_env:
        for path, name in sorted(env_files.items()):
            try:
                layers.append(env_file_layer(name, Path(path).read_bytes()))
            except OSError:
                continue  # an optional env file that is not there: nothing to publish
    if pinned:
        services = {name: {"image": image} for name, image in sorted(pinned.items())}
        data = yaml.safe_dump({"services": services}, sort_keys=False).encode()
        layers.append(compose_file_layer("image-digests.yaml", data))
    return layers


def local_includes(project: Project) -> tuple[str, ...]:
    """`include` entries of the project's files that are local files (not oci://)."""
    found: list[str] = []
    for f in project.config_files:
        found += scan_file(f, project.working_dir, project.environment).local_includes
    return tuple(found)


# ---- pre-checks -------------------------------------------------------------------------


def check_only_build(project: Project) -> None:
    only_build = [name for name, svc in sorted(project.services.items())
                  if not svc.image and svc.raw.get("build") is not None]
    if only_build:
        lines = "".join(f'- "{name}"\n' for name in only_build)
        raise ComposeError(
            "your Compose stack cannot be published as it only contains a build section for "
            f"service(s):\n{lines}".rstrip("\n")
        )


def bind_mounts(project: Project) -> dict[str, list[str]]:
    """Service -> its bind mounts as compose-go prints a volume (`source:target:ro|rw`)."""
    found: dict[str, list[str]] = {}
    for name, svc in sorted(project.services.items()):
        binds = [f"{v.source}:{v.target}:{'ro' if v.read_only else 'rw'}"
                 for v in svc.volumes if v.type is MountType.BIND]
        if binds:
            found[name] = binds
    return found


def environment_problems(
    project: Project, env_file_services: set[str]
) -> tuple[list[str], dict[str, dict[str, str | None]]]:
    """(what docker compose refuses without --with-env, the variables it would publish)."""
    problems: list[str] = []
    variables: dict[str, dict[str, str | None]] = {}
    for name, svc in sorted(project.services.items()):
        if name in env_file_services:
            problems.append(f'service "{name}" has env_file declared.')
        if svc.environment:
            problems.append(f'service "{name}" has environment variable(s) declared.')
            variables[name] = dict(svc.environment)
    for name, config in sorted((project.raw.get("configs") or {}).items()):
        if isinstance(config, dict) and config.get("environment"):
            problems.append(f'config "{name}" is declare as an environment variable.')
            variables[name] = {name: str(config["environment"])}
    return problems, variables


def pre_checks(
    project: Project, env_file_services: set[str], with_env: bool, confirm: Confirm
) -> bool:
    """docker compose's order: build-only services (an error), bind mounts (a question),
    environment (an error without --with-env, else a question). False: the user said no."""
    check_only_build(project)
    binds = bind_mounts(project)
    if binds:
        text = (
            "you are about to publish bind mounts declaration within your OCI artifact.\n"
            "only the bind mount declarations will be added to the OCI artifact (not content)\n"
            "please double check that you are not mounting potential user's sensitive "
            "directories or data\n"
            + "".join(f"{name}\n" + "".join(f"{b}\n" for b in found)
                      for name, found in binds.items())
            + "Are you ok to publish these bind mount declarations?"
        )
        if not confirm(text):
            return False
    problems, variables = environment_problems(project, env_file_services)
    if problems and not with_env:
        raise ComposeError("\n".join(problems) + "\n" + ENV_SUFFIX)
    if variables:
        listing = "".join(
            f"Service/Config  {name}\n"
            + "".join(f"{key}={'' if value is None else value}\n" for key, value in env.items())
            for name, env in variables.items()
        )
        text = (
            "you are about to publish environment variables within your OCI artifact.\n"
            "please double check that you are not leaking sensitive data\n"
            + listing + "Are you ok to publish these environment variables?"
        )
        if not confirm(text):
            return False
    return True


def env_file_services(project: Project) -> set[str]:
    """Services declaring `env_file`, from a project loaded without env resolution (which
    keeps the entries instead of folding them into `environment`)."""
    return {name for name, svc in project.services.items() if svc.raw.get("env_file")}


def services_to_push(project: Project) -> list[str]:
    """docker compose publishes the images it can build: services with `build` and `image`."""
    return [name for name, svc in project.services.items()
            if svc.image and svc.raw.get("build") is not None]


def describe(layers: list[Layer]) -> list[dict[str, Any]]:
    """The layers' descriptors without their inline content, for --dry-run and --debug."""
    return [{k: v for k, v in layer.descriptor().items() if k != "data"} for layer in layers]
