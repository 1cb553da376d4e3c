"""README.md documents every command: its "Commands" table must name each command (and each
sub-command of `image`, `volume` and `container`) the CLI has, name no command the CLI lacks, and
show only flags the command takes — a renamed or removed flag fails here, not in a user's shell."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from compose.cli.app import build_app

README = Path(__file__).resolve().parents[2] / "README.md"
# A dash, a letter, then more name characters for a long flag only: `-rf` (a command's own
# arguments, as in `rm -rf`) and `-` (stdin) are not one of pycompose's flags.
FLAG = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]*|-[A-Za-z])(?![\w-])")


@functools.cache
def _cli() -> Any:
    return typer.main.get_command(build_app())


def _commands_section() -> str:
    text = README.read_text()
    start = text.index("\n## Commands\n")
    return text[start:text.index("\n## ", start + 1)]


def _cells(row: str) -> list[str]:
    """A table row's cells; a `\\|` inside a cell is a literal bar."""
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def _table_rows() -> list[list[str]]:
    lines = _commands_section().splitlines()
    rows = [_cells(line) for line in lines if line.startswith("| `")]
    assert len(rows) > 10, "the Commands table was not found"
    return rows


def _top_level_split(text: str) -> list[str]:
    """`ls [-f a|b] [-q]|inspect|rm` -> the alternatives outside brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _synopses(cell: str) -> list[tuple[tuple[str, ...], str]]:
    """The (command path, rest of the synopsis) each code span of a cell shows:
    `up [-d] …` -> (("up",), "[-d] …"); `image import|ls` -> (("image", "import"), ""), …"""
    groups = {name for name, command in _cli().commands.items() if hasattr(command, "commands")}
    found = []
    for span in re.findall(r"`([^`]+)`", cell):
        name, _, rest = span.partition(" ")
        if name not in groups:
            found.append(((name,), rest))
            continue
        for alternative in _top_level_split(rest):
            sub, _, sub_rest = alternative.strip().partition(" ")
            found.append(((name, sub), sub_rest))
    return found


def _documented() -> list[tuple[tuple[str, ...], str]]:
    return [synopsis for row in _table_rows() for synopsis in _synopses(row[0])]


def _command(path: tuple[str, ...]) -> Any:
    command = _cli()
    for name in path:
        command = command.commands.get(name) if hasattr(command, "commands") else None
        if command is None:
            return None
    return command


def _spellings(command: Any) -> set[str]:
    return {s for p in command.params for s in (*p.opts, *p.secondary_opts) if s.startswith("-")}


def _cli_commands() -> set[tuple[str, ...]]:
    paths = set()
    for name, command in _cli().commands.items():
        subcommands = getattr(command, "commands", None)
        paths |= {(name, sub) for sub in subcommands} if subcommands else {(name,)}
    return paths


def test_every_command_of_the_cli_is_in_the_readme_table() -> None:
    documented = {path for path, _ in _documented()}
    assert sorted(_cli_commands() - documented) == []


def test_every_command_in_the_readme_table_exists() -> None:
    documented = {path for path, _ in _documented()}
    assert sorted(documented - _cli_commands()) == []


def test_the_table_shows_only_flags_the_commands_take() -> None:
    wrong = [
        (" ".join(path), flag)
        for path, rest in _documented()
        for flag in FLAG.findall(rest)
        if (command := _command(path)) is not None and flag not in _spellings(command)
    ]
    assert wrong == []


def _command_mentions() -> list[tuple[tuple[str, ...], str]]:
    """Code spans anywhere in the README (code blocks aside) that begin with a command and a
    flag (`start --wait`, `image prune -a`, the `pycompose run [--rm] …` synopsis): the command
    and what follows it."""
    text = re.sub(r"^```.*?^```", "", README.read_text(), flags=re.DOTALL | re.MULTILINE)
    mentions = []
    for span in re.findall(r"`([^`]+)`", text):
        words = span.replace("\\|", "|").split()
        if words[:1] == ["pycompose"]:
            words = words[1:]
        candidates = (tuple(words[:2]), tuple(words[:1]))
        path = next((p for p in candidates if p and _command(p) is not None), None)
        if path is None or len(words) == len(path) or words[len(path)][0] not in "-[":
            continue  # not a command, or no flags right after it (`logs fetcher`)
        mentions.append((path, " ".join(words[len(path):])))
    return mentions


def test_commands_mentioned_with_flags_take_those_flags() -> None:
    mentions = _command_mentions()
    # the `pycompose run` section's synopsis, written over several lines, is read whole
    assert any(p == ("run",) and rest.endswith("SERVICE [COMMAND...]") for p, rest in mentions)
    wrong = []
    for path, rest in mentions:
        # Only what precedes the service: `exec -T web cat -n` has cat's own flags after it.
        options = re.match(r"((?:\[[^\]]*\]…?\s*|-\S+(?: [A-Z][\w=:,…]*)?\s*)*)", rest)
        for flag in FLAG.findall(options.group(1) if options else ""):
            if flag not in _spellings(_command(path)):
                wrong.append((" ".join(path), flag))
    assert wrong == []


def test_every_global_flag_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [
        option.opts
        for option in _cli().params
        if not option.hidden and not any(f"`{s}" in text or f"/{s}`" in text
                                         for s in option.opts if s.startswith("--"))
    ]
    assert missing == []


@pytest.mark.parametrize(("cell", "expected"), [
    ("`up [-d]`, `up --watch`", [(("up",), "[-d]"), (("up",), "--watch")]),
    ("`volume ls [-f a=B|b=C] [-q]|inspect|rm`",
     [(("volume", "ls"), "[-f a=B|b=C] [-q]"), (("volume", "inspect"), ""),
      (("volume", "rm"), "")]),
])
def test_synopses_are_read_as_written(
    cell: str, expected: list[tuple[tuple[str, ...], str]]
) -> None:
    assert _synopses(cell) == expected
