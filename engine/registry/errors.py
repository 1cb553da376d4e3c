"""Typed errors of the distribution client; each names the registry and repository."""

from __future__ import annotations

from engine.errors import EngineError, NotFoundError, UnavailableError


class RegistryError(EngineError):
    """The registry answered with an error (or not at all)."""


class RegistryAuthError(RegistryError):
    """The registry refused our credentials (or wants some and we have none)."""


class ManifestNotFoundError(RegistryError, NotFoundError):
    """The registry has no manifest for that reference."""


class RegistryUnavailableError(RegistryError, UnavailableError):
    """Connection refused, TLS failure, timeout: the registry could not be reached."""


class RegistryRejectedError(RegistryError):
    """The registry refused the request itself (HTTP 4xx other than auth and not found): what
    was sent is something it does not support, e.g. an OCI 1.1 artifact manifest; a caller
    can retry in an older shape."""
