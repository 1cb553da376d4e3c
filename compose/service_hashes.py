"""`config --hash`: the config hash each service's containers would carry after `up`.

docker compose prints its own ServiceHash; ours also covers the image id (compose.container_spec
.config_hash), so the value is only meaningful against this engine's containers: equal to a
container's `com.docker.compose.config-hash` label means `up` leaves that container alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from compose.container_spec import config_hash
from compose.errors import ServiceNotFoundError
from compose.image_policy import image_name
from compose.model import Project
from engine.api import Engine


@dataclass(frozen=True)
class ServiceHash:
    """One service's hash, and the image it was computed with (None: the image is not here
    yet, so the hash is the one a container would get if that image had no id: not useful to
    compare, and the CLI says so)."""

    service: str
    hash: str
    image_id: str | None


def service_hashes(engine: Engine, project: Project, selection: str) -> list[ServiceHash]:
    """`selection`: `*` for every service, else comma-separated names; sorted by name, as
    docker compose prints them."""
    names = list(project.services) if selection == "*" else selection.split(",")
    for name in names:
        if name not in project.services:
            raise ServiceNotFoundError(f"no such service: {name}")
    hashes = []
    for name in sorted(names):
        service = project.services[name]
        image = engine.images.find(image_name(project, service))
        image_id = image.id if image is not None else None
        hashes.append(ServiceHash(name, config_hash(service, image_id or ""), image_id))
    return hashes
