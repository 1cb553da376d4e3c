"""``build.additional_contexts``: the named contexts a service's Dockerfile reaches with
``FROM name``, ``COPY --from=name`` and ``RUN --mount=from=name``, as docker compose passes
them to BuildKit.

Values: a local directory (relative to the project directory, as compose-go resolves it),
``docker-image://ref`` (an image of the local store) or ``service:NAME`` (that service's
image, which compose builds first: the contexts order the builds). Remote sources (git, URLs,
``oci-layout://``) would reach the network or another store and are refused by name.
Errors name the service and the key.
"""

from __future__ import annotations

from pathlib import Path

from compose.errors import ComposeError
from compose.model import Project, Service

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from engine.api import NamedContext

SERVICE_PREFIX = "service:"
IMAGE_PREFIX = "docker-image://"
_REMOTE = ("oci-layout://", "target:", "git@", "git://", "http://", "https://", "ssh://")


def _contexts(service: Service) -> dict[str, str]:
    section = service.raw.get("build")
    if not isinstance(section, dict) or not section.get("additional_contexts"):
        return {}
    from compose.merge import to_mapping  # (it loads yaml: ~16 ms every `up` and `run` paid)

    mapping = to_mapping(section["additional_contexts"])
    return {str(k): "" if v is None else str(v) for k, v in mapping.items()}


def context_services(service: Service) -> list[str]:
    """The services whose images this service's build uses (``service:NAME`` values)."""
    return [value.removeprefix(SERVICE_PREFIX) for value in _contexts(service).values()
            if value.startswith(SERVICE_PREFIX)]


def named_contexts(project: Project, service: Service) -> tuple[NamedContext, ...]:
    from compose.image_policy import image_name
    from engine.api import NamedContext

    out = []
    for name, value in _contexts(service).items():
        key = f"service {service.name}: build.additional_contexts.{name}"
        if not name or not value:
            raise ComposeError(f"{key}: a context needs a name and a value")
        if value.startswith(SERVICE_PREFIX):
            other = project.services.get(value.removeprefix(SERVICE_PREFIX))
            if other is None:
                raise ComposeError(f"{key}: {value}: no such service",
                                   hint=f"services: {', '.join(sorted(project.services))}")
            out.append(NamedContext(name, image=image_name(project, other)))
        elif value.startswith(IMAGE_PREFIX):
            out.append(NamedContext(name, image=value.removeprefix(IMAGE_PREFIX)))
        elif value.startswith(_REMOTE) or "://" in value:
            raise ComposeError(f"{key}: {value} is not supported: only a local directory,"
                               " docker-image://… or service:… (nothing is fetched)")
        else:
            out.append(NamedContext(name, directory=_directory(project, key, value)))
    return tuple(out)


def _directory(project: Project, key: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = project.working_dir / path
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise ComposeError(f"{key}: {path} {what}")
    return path


def with_context_services(project: Project, names: list[str]) -> list[str]:
    """`names` with the services their builds take a ``service:`` context from, each after
    those it needs (compose builds them in this order); a cycle is an error naming it."""
    ordered: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name):], name])
            raise ComposeError(f"build.additional_contexts: dependency cycle: {cycle}")
        visiting.append(name)
        service = project.services[name]
        for other in context_services(service):
            if other not in project.services:
                raise ComposeError(
                    f"service {name}: build.additional_contexts: service:{other}: no such service"
                )
            visit(other)
        visiting.pop()
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered
