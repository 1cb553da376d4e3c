"""The fast `run` path reads argv exactly as the Typer command does, or declines to read it.

Parity is checked against the real Typer app: its option declarations (every spelling, value
or flag, repeatable or not) and what it parses a set of command lines into."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import typer

from compose.cli import fast_run, run_cmd
from compose.cli.app import build_app
from compose.cli.fast_run import GLOBAL_OPTIONS, RUN_OPTIONS, OptionTable, parse
from tests.unit.cli_parity import typer_parse


def _click_params(path: tuple[str, ...]) -> list[Any]:
    command: Any = typer.main.get_command(build_app())
    for name in path:
        command = command.commands[name]
    return [p for p in command.params if p.param_type_name == "option"]


@pytest.mark.parametrize(("path", "table"), [((), GLOBAL_OPTIONS), (("run",), RUN_OPTIONS)])
def test_option_tables_match_the_typer_declarations(
    path: tuple[str, ...], table: OptionTable
) -> None:
    typer_values: set[str] = set()
    typer_flags: set[str] = set()
    typer_multiple: set[str] = set()
    for param in _click_params(path):
        spellings = [*param.opts, *param.secondary_opts]
        if "--help" in spellings or param.is_eager:  # --help, --version: Typer's, they exit
            continue
        (typer_flags if param.is_flag else typer_values).update(spellings)
        if param.multiple:
            typer_multiple.update(spellings)
    assert set(table.values) == typer_values
    assert set(table.flags) == typer_flags
    assert {s for s, key in table.values.items() if key in table.multiple} == typer_multiple


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--rm", "svc", "true"],
        ["run", "svc"],
        ["-f", "a.yaml", "--file=b.yaml", "-pdemo", "--profile", "x", "run", "-T", "svc"],
        ["--project-directory", "/tmp", "--env-file", "e", "--debug", "run", "-d", "svc"],
        ["--parallel", "-1", "--progress", "quiet", "run", "--no-deps", "svc"],
        ["--parallel=3", "run", "--service-ports", "-p", "80:80", "--publish=81", "svc"],
        [
            "run", "--name", "n", "--name=m", "-e", "A=1", "-eB", "--env", "C", "-v", "/a:/b",
            "--volume=v:/c", "--entrypoint", "sh -c", "-w", "/w", "-u", "0:0", "--user=1",
            "-l", "k=v", "--label", "x=y", "--no-TTY", "svc", "sh", "-c", "echo hi",
        ],
        # everything after SERVICE is the command, flags included
        ["run", "--rm", "svc", "--rm", "-e", "X", "--", "--help"],
        ["run", "--entrypoint=", "svc"],
        ["run", "-e", "-x", "svc"],
        ["run", "-P", "-q", "--quiet-build", "--quiet", "svc"],
        ["--ansi", "never", "--compatibility", "run", "svc"],
        ["--no-ansi", "--workdir", "/tmp", "run", "svc"],
        ["run", "-t", "--tty", "-i", "svc"],  # docker compose's deprecated ones
        ["--ansi=always", "run", "--cap-add", "NET_ADMIN", "--cap-drop=CHOWN", "svc"],
    ],
)
def test_fast_parse_equals_typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = typer_parse(argv, monkeypatch, run_cmd, "execute")
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["up", "-d"],
        ["--help"],
        ["run", "--help"],
        ["run", "-h", "svc"],
        ["run"],
        ["run", "--rm"],
        ["run", "-dT", "svc"],  # combined short flags: Typer's business
        ["run", "--rm=yes", "svc"],
        ["run", "--", "svc"],
        ["run", "--bogus", "svc"],
        ["run", "--name"],
        ["--parallel", "many", "run", "svc"],
        ["--ansi", "sometimes", "run", "svc"],  # Typer's callback reports it
        ["--ansi", "never", "--progress", "tty", "run", "svc"],
        ["-f"],
        ["logs", "run"],
    ],
)
def test_fast_path_declines_what_typer_must_handle(argv: list[str]) -> None:
    assert parse(argv) is None


def test_errors_go_through_the_one_error_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    import engine

    monkeypatch.setattr(engine, "prewarm_supervisors", lambda: None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: 3\n")
    code = fast_run.fast_run(["run", "--rm", "web", "true"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ")
    assert "services.web.image must be a string" in err
    assert "Traceback" not in err


HEAVY = ("typer", "pydantic", "jsonschema", "networkx", "rich", "pyroute2")
PROBE = """
import json, sys
from pathlib import Path
from compose.cli.fast_run import parse
flags, request = parse(["run", "--rm", "web", "true"])
from compose.loader import load_project
import compose.orchestrator, compose.container_spec, engine.api
load_project(flags.load_options())
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_the_run_path_loads_no_heavy_library_once_the_file_validated(tmp_path: Any) -> None:
    """What the fast path exists for: no Typer/pydantic, no networkx, no rich, no pyroute2 in
    the CLI, and no jsonschema for a file that validated clean before."""
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    env = {**os.environ, "PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache")}
    probe = [sys.executable, "-c", PROBE % (HEAVY,)]
    first = subprocess.run(
        probe, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stderr
    # the probe sees what is loaded: the first, validating run shows jsonschema and only it
    assert {name.split(".")[0] for name in json.loads(first.stdout)} == {"jsonschema"}
    second = subprocess.run(
        probe, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == []


BEFORE_FORK_SERVER = """
import sys
import compose.cli.app, compose.cli.fast_run, engine.supervisor_spawner
print(" ".join(sorted(sys.modules)))
"""
# What would delay the fork server's start if the CLI imported it first (~12 ms together).
NOT_BEFORE_FORK_SERVER = {
    "typing", "re", "collections", "functools", "enum", "socket", "selectors", "threading",
    "subprocess", "dataclasses", "pathlib", "array",
}


def test_the_fork_server_starts_before_the_cli_loads_any_library() -> None:
    """`run` starts the supervisors' fork server first thing: the entry point, the fast path
    and the spawner it imports first load only modules built into the interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", BEFORE_FORK_SERVER], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not set(done.stdout.split()) & NOT_BEFORE_FORK_SERVER


# Standard modules the run path has no use for (~12 ms of imports together), and the driver's
# kernel-facing modules (a one-off only looks its network up; its supervisor attaches it).
NOT_ON_THE_RUN_PATH = (
    "logging", "secrets", "hmac", "concurrent.futures", "subprocess",
    "netdriver.firewall", "netdriver.netlink", "netdriver.host_links", "netdriver.rtnl",
    "netdriver.endpoint_store", "netdriver.snapshot", "engine.dns_control",
)
RUN_PATH_PROBE = """
import json, sys
from compose.cli.fast_run import parse
flags, request = parse(["run", "--rm", "web", "true"])
from compose.loader import load_project
import compose.cli.oneoff, compose.orchestrator, compose.container_spec, engine.api
load_project(flags.load_options())
print(json.dumps(sorted(set(sys.modules) & set(%r))))
"""


def test_the_run_path_loads_no_module_it_does_not_use(tmp_path: Any) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    env = {**os.environ, "PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_PATH_PROBE % (NOT_ON_THE_RUN_PATH,)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
