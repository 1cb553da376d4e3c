"""A service's `secrets:` and `configs:` reach its containers as docker compose (outside swarm)
provides them: a file-based one as a read-only bind mount, an environment or inline one copied
into the container at create and before each start by `up`/`start`; what is missing is an
error before anything is made."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from compose.container_spec import build_container_spec
from compose.errors import ComposeError
from compose.events import Event, Phase
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import Orchestrator, UpOptions
from engine.api import MountKind, MountSpec
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: sec
    services:
      app:
        image: busybox
        volumes: [./data:/run/secrets/shadowed]
        secrets:
          - plain
          - {source: plain, target: renamed}
          - {source: plain, target: /etc/abs.txt}
          - {source: plain, target: shadowed}
          - {source: token, uid: "1000", gid: "50", mode: 0400}
        configs:
          - inline
          - {source: inline, target: etc/app.conf}
          - {source: fromfile, target: /cfg.txt}
          - {source: fromenv, target: /env.conf, mode: 0640}
    secrets:
      plain: {file: ./s.txt}
      token: {environment: TOKEN}
    configs:
      inline: {content: "hello ${WHO}"}
      fromfile: {file: ./c.txt}
      fromenv: {environment: CONF}
"""
ENVIRON = {"TOKEN": "t0ken", "CONF": "conf-from-env", "WHO": "world"}


def _project(tmp_path: Path, text: str = STACK, environ: dict[str, str] | None = None,
             files: tuple[str, ...] = ("s.txt", "c.txt")) -> Project:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    for name in files:
        (tmp_path / name).write_text(f"content of {name}")
    return load_project(LoadOptions(
        cwd=tmp_path, environ=ENVIRON if environ is None else environ
    ))


def _binds(project: Project) -> dict[str, MountSpec]:
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    return {m.target: m for m in spec.mounts if m.kind is MountKind.BIND}


def test_file_based_secrets_and_configs_are_read_only_bind_mounts(tmp_path: Path) -> None:
    binds = _binds(_project(tmp_path))
    secret, config = str(tmp_path / "s.txt"), str(tmp_path / "c.txt")
    assert {t: (m.source, m.read_only) for t, m in binds.items()} == {
        "/run/secrets/shadowed": (str(tmp_path / "data"), False),  # the volume wins
        "/run/secrets/plain": (secret, True),  # short syntax: /run/secrets/<name>
        "/run/secrets/renamed": (secret, True),  # a relative target is under /run/secrets
        "/etc/abs.txt": (secret, True),  # an absolute one as it is
        "/cfg.txt": (config, True),
    }


def test_environment_and_inline_ones_are_not_mounted(tmp_path: Path) -> None:
    binds = _binds(_project(tmp_path))
    assert not {"/run/secrets/token", "/inline", "/etc/app.conf", "/env.conf"} & set(binds)


def test_up_copies_environment_and_inline_ones_in_before_the_first_start(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    Orchestrator(engine, _project(tmp_path)).up()  # type: ignore[arg-type]
    assert engine.actions("extract") == ["sec-app-1"]  # once: the start after create adds none
    assert engine.first("extract", "sec-app-1") < engine.first("start", "sec-app-1")
    (name, dest, members), = engine.extracted
    assert (name, dest) == ("sec-app-1", "/")
    assert members == {
        "run/secrets/token": b"t0ken",
        "inline": b"hello world",  # config default target: /<name>; content interpolated
        "etc/app.conf": b"hello world",  # a relative config target is under /
        "env.conf": b"conf-from-env",
    }
    headers = {h[1]: (oct(h[2]), h[3], h[4], h[5]) for h in engine.extracted_headers}
    assert headers == {
        "run/secrets/token": ("0o400", 1000, 50, True),
        "inline": ("0o444", 0, 0, True),  # docker compose's default mode, owned by root
        "etc/app.conf": ("0o444", 0, 0, True),
        "env.conf": ("0o640", 0, 0, True),
    }


def test_a_start_copies_the_current_content_in_again(tmp_path: Path) -> None:
    """docker compose's startService injects before every start of a stopped container; the
    config hash does not cover the content, so the container is not recreated for it."""
    engine = FakeEngine()
    Orchestrator(engine, _project(tmp_path)).up()  # type: ignore[arg-type]
    engine.stop_container("sec-app-1")
    changed = _project(tmp_path, environ={**ENVIRON, "TOKEN": "rotated"})
    Orchestrator(engine, changed).up()  # type: ignore[arg-type]
    assert engine.actions("create") == ["sec-app-1"]  # not recreated
    assert engine.extracted[-1][2]["run/secrets/token"] == b"rotated"
    Orchestrator(engine, changed).up()  # type: ignore[arg-type]  # running: left alone
    assert len(engine.extracted) == 2


def test_create_copies_them_in_without_starting(tmp_path: Path) -> None:
    engine = FakeEngine()
    Orchestrator(engine, _project(tmp_path)).create(UpOptions())  # type: ignore[arg-type]
    assert engine.actions("extract") == ["sec-app-1"] and engine.actions("start") == []


def test_a_stack_without_them_copies_nothing(tmp_path: Path) -> None:
    engine = FakeEngine()
    project = _project(tmp_path, "services: {app: {image: busybox}}\n", files=())
    Orchestrator(engine, project).up()  # type: ignore[arg-type]
    assert engine.extracted == []


def _fails_leaving_nothing(project: Project, match: str) -> None:
    engine = FakeEngine()
    with pytest.raises(ComposeError, match=match):
        Orchestrator(engine, project).up()  # type: ignore[arg-type]
    assert engine.timeline == [] and engine.networks_made == {}


def test_a_missing_secret_file_fails_before_anything_is_made(tmp_path: Path) -> None:
    project = _project(tmp_path, files=("c.txt",))
    _fails_leaving_nothing(
        project, f'^service "app": secret "plain": invalid mount config for type "bind": '
        f"bind source path does not exist: {tmp_path / 's.txt'}$",
    )
    with pytest.raises(ComposeError, match='secret "plain"'):
        build_container_spec(project, project.services["app"], 1, "sha256:x")


def test_a_missing_config_file_names_the_config(tmp_path: Path) -> None:
    _fails_leaving_nothing(_project(tmp_path, files=("s.txt",)), 'config "fromfile"')


def test_an_unset_variable_fails_before_anything_is_made(tmp_path: Path) -> None:
    _fails_leaving_nothing(
        _project(tmp_path, environ={"CONF": "x"}),
        '^service "app": environment variable "TOKEN" required by secret "token" is not set$',
    )


@pytest.mark.parametrize(("definition", "match"), [
    ("{external: true}", "^service \"app\": unsupported external secret ext$"),
    ("{external: true, name: shared}", "unsupported external secret shared$"),
    ("{file: ./s.txt, driver: vault}", r"secrets\.\*\.driver is not supported"),
    ("{file: ./s.txt, template_driver: golang}", r"secrets\.\*\.template_driver"),
])
def test_swarm_only_secrets_are_refused(tmp_path: Path, definition: str, match: str) -> None:
    text = ("services: {app: {image: busybox, secrets: [ext]}}\n"
            f"secrets: {{ext: {definition}}}\n")
    _fails_leaving_nothing(_project(tmp_path, text), match)


def test_an_external_config_is_refused(tmp_path: Path) -> None:
    text = "services: {app: {image: busybox, configs: [c]}}\nconfigs: {c: {external: true}}\n"
    _fails_leaving_nothing(_project(tmp_path, text), "unsupported external config c$")


def test_a_non_numeric_uid_is_refused(tmp_path: Path) -> None:
    text = ("services: {app: {image: busybox, secrets: [{source: t, uid: bob}]}}\n"
            "secrets: {t: {environment: TOKEN}}\n")
    _fails_leaving_nothing(_project(tmp_path, text), 'secret "t": uid: not a number')


def test_owner_and_mode_of_a_file_based_one_are_warned_about(tmp_path: Path) -> None:
    text = """
        services:
          app:
            image: busybox
            secrets: [{source: f, mode: 0400}, {source: e, target: e2, mode: 0400}]
            configs: [{source: c, uid: "1"}]
        secrets: {f: {file: ./s.txt}, e: {environment: TOKEN}}
        configs: {c: {file: ./c.txt}}
    """
    events: list[Event] = []
    Orchestrator(FakeEngine(), _project(tmp_path, text), events.append).up()  # type: ignore[arg-type]
    warnings = [e.detail for e in events if e.phase is Phase.WARNING]
    assert warnings == [
        'service "app": secret "f": secrets `uid`, `gid` and `mode` are not supported, they '
        "will be ignored (the host file is bind-mounted as it is)",
        'service "app": config "c": configs `uid`, `gid` and `mode` are not supported, they '
        "will be ignored (the host file is bind-mounted as it is)",
    ]  # the environment one applies them: no warning


def test_a_failed_copy_removes_the_container_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ComposeError("no space left on device")

    monkeypatch.setattr(engine, "extract_into", refuse)
    with pytest.raises(ComposeError, match="no space left"):
        Orchestrator(engine, _project(tmp_path)).up()  # type: ignore[arg-type]
    assert engine.list_containers() == []
