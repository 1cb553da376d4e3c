"""Docker's `--flag=false` spellings of boolean flags, read for every command in one place
(compose.cli.go_bool_flags), the fast parsers leaving them to that path."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from compose.cli import fast_down, fast_exec, fast_ps, fast_run, fast_up
from compose.cli.app import build_app
from compose.cli.go_bool_flags import BoolFlagValueError, go_bool_flags
from tests.unit.fake_engine import FakeEngine
from tests.unit.test_commit_changes import _cli, fake  # noqa: F401  (the fixture, by name)


def _root() -> Any:
    return typer.main.get_command(build_app())


@pytest.mark.parametrize(("argv", "read"), [
    (["attach", "--sig-proxy=false", "web"], ["attach", "--no-sig-proxy", "web"]),
    (["attach", "--sig-proxy=true", "web"], ["attach", "--sig-proxy", "web"]),
    (["attach", "--no-sig-proxy=false", "web"], ["attach", "--sig-proxy", "web"]),
    (["attach", "--no-stdin=0", "web"], ["attach", "web"]),
    (["commit", "--pause=false", "web"], ["commit", "--no-pause", "web"]),
    (["commit", "-p=false", "web"], ["commit", "--no-pause", "web"]),
    (["commit", "--pause=True", "web"], ["commit", "--pause", "web"]),
    (["ps", "--orphans=f", "-a=t"], ["ps", "--no-orphans", "-a"]),
    (["watch", "--prune=FALSE"], ["watch", "--no-prune"]),
    (["up", "--build=false", "-d=true", "web"], ["up", "-d", "web"]),
    (["exec", "--tty=false", "-i=false", "web", "ls"],
     ["exec", "--no-tty", "--no-interactive", "web", "ls"]),
    (["run", "--rm=true", "--tty=false", "svc"], ["run", "--rm", "--no-tty", "svc"]),
    (["run", "--interactive=false", "svc"], ["run", "--no-interactive", "svc"]),
    (["--dry-run=false", "--debug=1", "down"], ["--debug", "down"]),
    (["image", "history", "--no-trunc=true", "x"], ["image", "history", "--no-trunc", "x"]),
])
def test_docker_spellings_become_clicks(argv: list[str], read: list[str]) -> None:
    assert go_bool_flags(_root(), argv) == read


@pytest.mark.parametrize("argv", [
    ["run", "svc", "sh", "--rm=false"],  # the container's command, not ours
    ["run", "-e", "--rm=false", "svc"],  # an option's value
    ["-f", "--debug=false", "ps"],
    ["logs", "--", "--no-color=true"],
    ["run", "--env=X=--rm=false", "svc"],
])
def test_what_is_no_flag_of_ours_passes_unchanged(argv: list[str]) -> None:
    assert go_bool_flags(_root(), argv) == argv


def test_a_value_go_cannot_read_is_dockers_error() -> None:
    with pytest.raises(BoolFlagValueError) as caught:
        go_bool_flags(_root(), ["attach", "--sig-proxy=maybe", "web"])
    assert str(caught.value) == (
        'invalid argument "maybe" for "--sig-proxy" flag: strconv.ParseBool: parsing "maybe":'
        " invalid syntax"
    )


def test_every_flag_on_by_default_can_be_turned_off() -> None:
    """`--x=false` of a flag that is on unless told otherwise needs its `--no-x` spelling."""

    def commands(command: Any, path: str) -> list[tuple[str, Any]]:
        subs = getattr(command, "commands", None) or {}
        return [(path, command), *(c for n, s in subs.items() for c in commands(s, f"{path} {n}"))]

    stuck = [
        (path, param.opts)
        for path, command in commands(_root(), "pycompose")
        for param in command.params
        if getattr(param, "is_bool_flag", False) and param.default is True
        and not param.secondary_opts
    ]
    assert stuck == []


def test_commit_pause_false_does_not_pause(fake: FakeEngine) -> None:  # noqa: F811
    assert _cli("commit", "--pause=false", "web")[0] == 0
    assert fake.commits[-1][1].pause is False
    assert _cli("commit", "-p=true", "web")[0] == 0
    assert fake.commits[-1][1].pause is True
    code, out = _cli("commit", "--pause=nope", "web")
    assert code == 1 and 'invalid argument "nope" for "--pause" flag' in out


@pytest.mark.parametrize("argv", [
    ["run", "--rm=false", "svc"],
    ["up", "--build=false"],
    ["down", "-v=true"],
    ["ps", "--orphans=false"],
    ["exec", "--tty=false", "web", "ls"],
])
def test_the_fast_parsers_leave_go_spellings_to_typer(argv: list[str]) -> None:
    parsers = {"run": fast_run.parse, "up": fast_up.parse, "down": fast_down.parse,
               "ps": fast_ps.parse, "exec": fast_exec.parse}
    assert parsers[argv[0]](argv) is None


def test_the_fast_parsers_read_the_negative_spellings_as_typer_does() -> None:
    run = fast_run.parse(["run", "--no-tty", "--no-interactive", "svc"])
    assert run is not None
    assert (run[1].no_tty, run[1].tty, run[1].interactive) == (True, False, False)
    run = fast_run.parse(["run", "--no-tty", "-t", "svc"])
    assert run is not None and (run[1].no_tty, run[1].tty) == (False, True)
    exec_ = fast_exec.parse(["exec", "--no-tty", "web", "ls"])
    assert exec_ is not None and exec_[1].no_tty is True
    exec_ = fast_exec.parse(["exec", "--no-tty", "-t", "web", "ls"])
    assert exec_ is not None and exec_[1].no_tty is False
    exec_ = fast_exec.parse(["exec", "--no-interactive", "web", "ls"])
    assert exec_ is not None and exec_[1].interactive is False
    exec_ = fast_exec.parse(["exec", "-i", "web", "ls"])
    assert exec_ is not None and exec_[1].interactive is True
