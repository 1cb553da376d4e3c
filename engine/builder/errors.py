"""Builder errors: a Dockerfile problem names ``file:line``; a failed step names the step."""

from __future__ import annotations

from engine.errors import EngineError, InvalidArgumentError


class DockerfileError(InvalidArgumentError):
    """The Dockerfile is malformed (unknown instruction, bad syntax, bad flag)."""

    def __init__(self, file: str, line: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{file}:{line}: {message}", subject=f"{file}:{line}", hint=hint)
        self.file = file
        self.line = line


class BuildError(EngineError):
    """A build step failed (RUN exited non-zero, COPY source missing, base image missing)."""
