"""`config --resolve-image-digests`: each service's `image` pinned to a digest.

docker compose asks the registry for the tag's current digest (compose-go WithImagesResolved:
`name:tag@sha256:…`). pycompose reaches no registry for `config`: it pins to the digest this
engine recorded when the image was pulled (or pushed), which is the image `up` would run; an
image that is not here, or was built, imported or loaded (no registry digest), is an error
naming the service, as an unresolvable image is for docker compose.
"""

from __future__ import annotations

from compose.errors import ComposeError
from compose.model import Project
from engine.api import Engine, EngineError, parse_reference


def pinned_images(engine: Engine, project: Project) -> dict[str, str]:
    """Service -> `name:tag@digest` for every service with an `image`; all problems at once."""
    pinned: dict[str, str] = {}
    problems: list[str] = []
    for name, service in project.services.items():
        if not service.image:
            continue
        try:
            reference = parse_reference(service.image)
        except EngineError as exc:
            problems.append(f"service {name}: {exc}")
            continue
        if reference.digest is not None:
            pinned[name] = service.image
            continue
        image = engine.images.find(service.image)
        digests = engine.images.repo_digests(image) if image is not None else ()
        wanted = f"{reference.familiar_name}@"
        digest = next((d[len(wanted):] for d in digests if d.startswith(wanted)), None)
        if image is None:
            problems.append(f"service {name}: image {service.image} is not present: pull it "
                            "to pin its digest")
        elif digest is None:
            problems.append(f"service {name}: image {service.image} has no registry digest "
                            "(built, imported or loaded here)")
        else:
            pinned[name] = f"{reference.familiar()}@{digest}"
    if problems:
        raise ComposeError("\n".join(problems))
    return pinned
