"""Typed errors of the network driver."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class NetworkError(Exception):
    """Root of every error the network driver raises."""

    def __init__(self, message: str, *, subject: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.subject = subject
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NetworkNotFoundError(NetworkError):
    """No network with that name."""


class NetworkInUseError(NetworkError):
    """The network still has live endpoints."""


class AddressPoolExhaustedError(NetworkError):
    """No free subnet in the pools, or no free address in a subnet."""


class InvalidNetworkConfigError(NetworkError):
    """A subnet, gateway or address is malformed or inconsistent."""


class NetlinkError(NetworkError):
    """The kernel refused a netlink request; carries the kernel's reason."""


class NetworkConflictError(InvalidNetworkConfigError):
    """A network of that name exists with a different subnet, gateway or internal flag."""


class AddressInUseError(InvalidNetworkConfigError):
    """A requested static address is already taken (or is the gateway)."""


class EndpointExistsError(NetworkError):
    """A live endpoint with that id is already attached to the network."""


@contextlib.contextmanager
def kernel_refusals(action: str, subject: str | None = None) -> Iterator[None]:
    """Turn the kernel's refusals (OSError, errno and reason) inside the block into a
    NetlinkError naming what we were doing."""
    try:
        yield
    except OSError as exc:
        raise NetlinkError(f"{action}: {exc.strerror or exc}", subject=subject) from exc
