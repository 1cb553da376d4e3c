"""Docker's rules for removing an image some containers were created from.

A container needs its image to start again (its layers are the overlay's lower dirs, its config
the process defaults), so an image in use is never deleted: removing its last name by force
leaves it as a dangling image (`<none>`), as Docker keeps one a running container uses. Without
force, taking away the only name of an image in use is refused, as `docker rmi` does.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import ImageInUseError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.api import ContainerInfo
    from engine.images import Image


def is_id_reference(image: Image, reference: str) -> bool:
    """Whether `reference` named the image by (a prefix of) its id rather than by a name."""
    return image.id.removeprefix("sha256:").startswith(reference.removeprefix("sha256:"))


def check_removal(
    image: Image, reference: str, users: Sequence[ContainerInfo], force: bool
) -> None:
    """Raise ImageInUseError with docker's text when `users` forbid removing `image` as asked."""
    if not users:
        return
    if not is_id_reference(image, reference):
        if not force and len(image.repo_tags) <= 1:
            raise ImageInUseError(
                f"conflict: unable to remove repository reference {reference!r} (must force)"
                f" - container {users[0].name} is using its referenced image {image.short_id}",
                subject=reference,
            )
        return
    running = [u for u in users if u.status.active]
    if running:
        raise ImageInUseError(
            f"conflict: unable to delete {image.short_id} (cannot be forced) - image is being"
            f" used by running container {running[0].name}",
            subject=reference,
        )
    if not force:
        raise ImageInUseError(
            f"conflict: unable to delete {image.short_id} (must be forced) - image is being"
            f" used by stopped container {users[0].name}",
            subject=reference,
        )
