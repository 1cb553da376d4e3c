"""A build's named contexts (BuildKit's ``--build-context``, compose's
``build.additional_contexts``): extra sources a Dockerfile reaches by name with ``FROM name``,
``COPY --from=name`` and ``RUN --mount=from=name``.

A named context is a local directory (read with the main context's rules: its own
``.dockerignore``, links followed only inside it) or an image of the local store. BuildKit's
rule: the name wins over a stage or image of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidArgumentError


@dataclass(frozen=True)
class NamedContext:
    """Exactly one of `directory` (absolute) and `image` (a reference in the local store)."""

    name: str
    directory: Path | None = None
    image: str | None = None

    def check(self) -> None:
        """Fail before any step runs: a named context that cannot be there."""
        if (self.directory is None) == (self.image is None):
            raise InvalidArgumentError(
                f"named context {self.name!r}: give a directory or an image", subject=self.name
            )
        if self.directory is not None and not self.directory.is_dir():
            raise InvalidArgumentError(
                f"named context {self.name!r}: {self.directory} is not a directory",
                subject=self.name,
            )

    def describe(self) -> str:
        return str(self.directory) if self.directory is not None else f"docker-image://{self.image}"


def find_named(contexts: tuple[NamedContext, ...], ref: str) -> NamedContext | None:
    """The named context `ref` names (stage names are case-insensitive, so are these)."""
    return next((c for c in contexts if c.name.lower() == ref.lower()), None)
