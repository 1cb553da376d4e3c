"""`run`'s pty and stdin: docker compose's choice from the flags and our terminals (its
resolveTTYFlag and CheckTty), never from the service's `tty` / `stdin_open`."""

from __future__ import annotations

import pytest

from compose.cli.oneoff import RunRequest, TerminalChoice, terminal_choice
from compose.errors import ComposeError


def _choice(stdin_tty: bool, stdout_tty: bool, **flags: object) -> TerminalChoice:
    request = RunRequest(service="svc", **flags)  # type: ignore[arg-type]
    return terminal_choice(request, stdin_tty, stdout_tty)


@pytest.mark.parametrize(
    ("stdin_tty", "stdout_tty", "flags", "tty"),
    [
        (True, True, {}, True),  # a terminal: a pty
        (False, True, {}, False),  # piped input from a terminal: none, no error
        (True, False, {}, False),  # output captured: none
        (False, False, {}, False),
        (True, True, {"no_tty": True}, False),
        (True, True, {"detach": True}, True),  # `run -d` from a terminal has one too
        (False, False, {"detach": True}, False),
        (False, False, {"tty": True, "interactive": False}, True),  # -t without stdin
        (False, True, {"interactive": False}, True),  # any -i given: stdout decides
        (True, False, {"interactive": True}, False),
    ],
)
def test_the_pty_follows_the_flags_and_terminals(
    stdin_tty: bool, stdout_tty: bool, flags: dict[str, object], tty: bool
) -> None:
    assert _choice(stdin_tty, stdout_tty, **flags).tty is tty


@pytest.mark.parametrize(
    "flags",
    [{"tty": True}, {"tty": True, "detach": True}, {"interactive": True}],
)
def test_a_pty_fed_from_no_terminal_is_refused_as_docker_does(flags: dict[str, object]) -> None:
    with pytest.raises(ComposeError, match=r"^the input device is not a TTY$"):
        _choice(False, True, **flags)


def test_stdin_stays_open_unless_interactive_is_off_detached_too() -> None:
    assert _choice(False, False).stdin_open
    assert _choice(False, False, detach=True).stdin_open
    assert not _choice(True, True, interactive=False).stdin_open
