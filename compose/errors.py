"""Typed errors of the Compose layer; the CLI maps them to messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the stack file, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
            where += ": "
        repeats_key = self.key and self.message.startswith(self.key)
        key = f"{self.key}: " if self.key and not repeats_key else ""
        return f"{where}{key}{self.message}"


class ComposeError(Exception):
    """Root of every error the Compose layer raises."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ComposeFileNotFoundError(ComposeError):
    """No stack file where one was named or expected."""


class ComposeFileError(ComposeError):
    """A stack file (or several) is unreadable or invalid; carries every problem found."""

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems), hint=hint)


class ServiceNotFoundError(ComposeError):
    """A command named a service the project does not have."""


class ServiceFailedError(ComposeError):
    """A service could not be created or started; names the service and the cause."""
