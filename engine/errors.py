"""Typed errors of the engine. Each names its subject (image, container, volume) and cause."""

from __future__ import annotations


def error_text(exc: BaseException) -> str:
    """An exception as one line for a record or a report: its message, else its class name."""
    return str(exc).strip() or exc.__class__.__name__


class EngineError(Exception):
    """Root of every error the engine raises."""

    def __init__(self, message: str, *, subject: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.subject = subject
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotFoundError(EngineError):
    """The named object does not exist."""


class ImageNotFoundError(NotFoundError):
    """No image with that reference or id in the local store."""


class ContainerNotFoundError(NotFoundError):
    """No container with that name or id."""


class VolumeNotFoundError(NotFoundError):
    """No volume with that name."""


class AlreadyExistsError(EngineError):
    """An object with that name exists already."""


class InvalidArgumentError(EngineError):
    """The request itself is malformed (bad reference, bad tarball, bad option)."""


class InvalidStateError(EngineError):
    """The object is not in a state that allows the request (e.g. removing a running container)."""


class StartClaimedError(InvalidStateError):
    """Another live supervisor owns the container (starting or running it): a second start
    must not run its command twice; the caller waits for that start instead."""


class UnavailableError(EngineError):
    """The kernel or host cannot do what was asked (missing cgroup controller, no permission)."""


class ContainerStartError(EngineError):
    """The container's process could not be started; carries the reason from the runtime."""


class ContentNotFoundError(NotFoundError):
    """A blob (layer, config, manifest) an image needs is missing from the content store."""


class DigestMismatchError(InvalidArgumentError):
    """Content does not match the digest it was announced or stored under."""


class AmbiguousReferenceError(InvalidArgumentError):
    """A short image id prefix matches more than one image."""


class ImageInUseError(InvalidStateError):
    """The image cannot be removed as asked (e.g. removing by id while several tags name it)."""


class VolumeInUseError(InvalidStateError):
    """A volume some container (running or not) still mounts: `down` reports it as in use and
    goes on, as docker compose does with Docker's conflict."""
