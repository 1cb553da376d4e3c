"""The global `--ansi` and `--compatibility` flags as docker compose v2 reads them
(cmd/compose/compose.go): from the flag or COMPOSE_ANSI / NO_COLOR / COMPOSE_COMPATIBILITY,
`--ansi` checked against `--progress`, and what they change (colours, container names)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from compose.cli.context import make_global_options
from compose.cli.names import log_prefix
from compose.cli.oneoff import _labels, _oneoff_name
from compose.cli.session import compatible
from compose.container_spec import build_container_spec
from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from tests.unit.cli_parity import CLI_ENVIRONMENT


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CLI_ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("ansi", "progress", "colors", "effective_progress"),
    [
        (None, None, None, "auto"),  # the terminal decides
        ("auto", "tty", None, "tty"),
        ("never", None, False, "plain"),  # no live view either
        ("never", "quiet", False, "quiet"),
        ("always", None, True, "auto"),
        ("always", "tty", True, "tty"),
    ],
)
def test_ansi_sets_colours_and_the_default_progress(
    ansi: str | None, progress: str | None, colors: bool | None, effective_progress: str
) -> None:
    flags = make_global_options(ansi=ansi, progress=progress)
    assert flags.colors is colors
    assert flags.progress == effective_progress


@pytest.mark.parametrize(
    ("ansi", "progress", "message"),
    [
        ("never", "tty", "can't use --progress tty while ANSI support is disabled"),
        ("always", "plain", "can't use --progress plain while ANSI support is forced"),
        ("sometimes", None, "unsupported --ansi value 'sometimes'"),
        ("NEVER", None, "unsupported --ansi value"),  # docker compose's values are lower case
    ],
)
def test_ansi_refuses_what_docker_compose_refuses(
    ansi: str, progress: str | None, message: str
) -> None:
    with pytest.raises(ComposeError, match=message):
        make_global_options(ansi=ansi, progress=progress)


def test_ansi_and_compatibility_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPOSE_ANSI", "never")
    monkeypatch.setenv("COMPOSE_COMPATIBILITY", "1")
    flags = make_global_options()
    assert flags.ansi == "never" and flags.colors is False and flags.compatibility
    assert make_global_options(ansi="always").colors is True  # the flag wins
    monkeypatch.setenv("COMPOSE_PROGRESS", "tty")  # the env's progress is checked too
    with pytest.raises(ComposeError, match="ANSI support is disabled"):
        make_global_options()


def test_no_color_turns_colours_off_even_with_ansi_always(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_global_options(ansi="always").colors is False
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set, as docker compose reads it
    assert make_global_options(ansi="always").colors is True


@pytest.mark.parametrize(
    ("text", "on"), [("true", True), ("1", True), ("y", True), ("T", True), ("no", False),
                     ("", False), ("yes", False)]
)
def test_compatibility_variable_reads_as_docker_compose_s_string_to_bool(
    text: str, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPOSE_COMPATIBILITY", text)
    assert make_global_options().compatibility is on


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n  side:\n    image: busybox\n"
        "    network_mode: service:web\n"
    )
    return load_project(LoadOptions(cwd=tmp_path, project_name="proj"))


def test_compatibility_names_containers_with_underscores(project: Project) -> None:
    plain = build_container_spec(project, project.services["web"], 2, "sha256:x")
    assert plain.name == "proj-web-2"
    old_style = compatible(make_global_options(compatibility=True), project)
    assert old_style.container_separator == "_"
    spec = build_container_spec(old_style, old_style.services["web"], 2, "sha256:x")
    assert spec.name == "proj_web_2"
    side = build_container_spec(old_style, old_style.services["side"], 1, "sha256:x")
    assert side.network_mode == "container:proj_web_1"
    assert _oneoff_name("proj", "web", "_").startswith("proj_web_run_")
    assert len(_oneoff_name("proj", "web", "-").rsplit("-", 1)[1]) == 12


def test_compatibility_from_the_project_environment(project: Project) -> None:
    flags = make_global_options()
    assert compatible(flags, project) is project
    with_env = dataclasses.replace(project, environment={"COMPOSE_COMPATIBILITY": "true"})
    assert compatible(flags, with_env).container_separator == "_"


def _info(name: str, project: str = "proj", service: str = "web", number: str = "1") -> Any:
    labels = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": number,
    }
    return SimpleNamespace(name=name, labels=labels)


def test_log_prefixes_follow_either_naming() -> None:
    assert log_prefix(_info("proj-web-1")) == "web-1"
    assert log_prefix(_info("proj_web_1")) == "web_1"
    assert log_prefix(_info("custom")) == "custom"  # container_name: shown whole


def test_run_labels_need_a_value() -> None:
    assert _labels(("a=b", "c=", "d=e=f")) == {"a": "b", "c": "", "d": "e=f"}
    with pytest.raises(ComposeError, match="label must be set as KEY=VALUE"):
        _labels(("novalue",))


def test_deprecated_no_ansi_and_workdir_as_docker_compose_reads_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    flags = make_global_options(no_ansi=True, workdir="/srv/app")
    assert flags.ansi == "never" and flags.colors is False
    assert flags.project_directory == "/srv/app"
    err = capsys.readouterr().err
    assert "option '--no-ansi' is DEPRECATED ! Please use '--ansi' instead." in err
    assert "option '--workdir' is DEPRECATED at root level!" in err
    with pytest.raises(ComposeError, match='cannot specify DEPRECATED "--no-ansi" and "--ansi"'):
        make_global_options(no_ansi=True, ansi="always")
    with pytest.raises(ComposeError, match='"--workdir" and "--project-directory"'):
        make_global_options(workdir="/a", project_directory="/b")
