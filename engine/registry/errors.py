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
