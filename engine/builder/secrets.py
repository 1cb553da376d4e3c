"""Build secrets: what ``RUN --mount=type=secret,id=…`` may read (``docker build --secret``,
a service's ``build.secrets``).

A secret is read only when a step mounts it, is handed to that step's container as a file on
a tmpfs or as an environment variable, and never enters a layer, the image's history or a
step's cache key (changing a secret's value does not rebuild a cached step, as in BuildKit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.builder.errors import BuildError

MAX_SECRET_SIZE = 500 * 1024  # BuildKit's limit


@dataclass(frozen=True)
class BuildSecret:
    """One secret by id: from a host `file` (read when a step uses it), or a `value` the
    caller resolved (an environment variable's). `value` is kept out of repr so that no
    error or log line can show it."""

    id: str
    file: Path | None = None
    value: bytes | None = field(default=None, repr=False)

    def check(self) -> None:
        """Fail before any step when a file secret is missing (docker buildx stats them)."""
        if self.file is None:
            return
        try:
            size = self.file.stat().st_size
        except OSError as exc:
            raise BuildError(
                f"secret {self.id}: cannot read {self.file}: {exc.strerror or exc}",
                subject=self.id,
            ) from None
        if size > MAX_SECRET_SIZE:
            raise BuildError(f"secret {self.id}: {self.file} is larger than 500KiB",
                             subject=self.id)

    def read(self) -> bytes:
        if self.value is not None:
            return self.value
        assert self.file is not None
        try:
            return self.file.read_bytes()
        except OSError as exc:
            raise BuildError(
                f"secret {self.id}: cannot read {self.file}: {exc.strerror or exc}",
                subject=self.id,
            ) from None
