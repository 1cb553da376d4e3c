"""Multi-file merge, !reset/!override, extends, include, anchors, profiles, env_file."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeError, ComposeFileError, ComposeFileNotFoundError
from compose.loader import load_project
from compose.model import LoadOptions, Project


def _write(d: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)


def _load(d: Path, *files: str, **kw: object) -> Project:
    return load_project(LoadOptions(files=files, cwd=d, project_name="p", **kw))  # type: ignore[arg-type]


BASE = """
services:
  web:
    image: a
    command: [one]
    ports: ["80:80"]
    expose: ["1"]
    environment: [A=1, B=2]
    labels: {x: "1"}
    volumes: ["/a:/data", "/b:/b"]
    depends_on: [db]
    dns: [1.1.1.1]
  db:
    image: db
"""
OVERRIDE = """
services:
  web:
    image: b
    command: two three
    ports: ["81:81"]
    expose: ["2"]
    environment: {B: "3", C: "4"}
    labels: [y=2]
    volumes: ["/c:/data"]
    depends_on:
      db: {condition: service_healthy}
    dns: 8.8.8.8
"""


def test_merge_rules(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yaml": BASE, "b.yaml": OVERRIDE})
    web = _load(tmp_path, "a.yaml", "b.yaml").raw["services"]["web"]
    assert web["image"] == "b"
    assert web["command"] == ["two", "three"]
    assert [p["target"] for p in web["ports"]] == [80, 81]
    assert web["expose"] == ["1", "2"]
    assert web["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert web["labels"] == {"x": "1", "y": "2"}
    assert [(v["source"], v["target"]) for v in web["volumes"]] == [("/c", "/data"), ("/b", "/b")]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert web["dns"] == ["1.1.1.1", "8.8.8.8"]


def test_reset_and_override(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yaml": BASE, "b.yaml": """
services:
  web:
    ports: !reset []
    environment: !override {Z: "9"}
    labels:
      x: !reset
"""})
    web = _load(tmp_path, "a.yaml", "b.yaml").raw["services"]["web"]
    assert "ports" not in web
    assert web["environment"] == {"Z": "9"}
    assert web["labels"] == {}


def test_anchors_and_extensions(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": """
x-common: &common
  image: base
  environment: {A: "1"}
services:
  one:
    <<: *common
  two:
    <<: *common
    image: other
"""})
    project = _load(tmp_path, "compose.yaml")
    assert project.services["one"].image == "base"
    assert project.services["two"].image == "other"
    assert project.services["two"].environment == {"A": "1"}
    assert project.raw["x-common"]["image"] == "base"


def test_extends_chain_and_other_file(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": """
services:
  web:
    extends: {file: lib/base.yaml, service: mid}
    environment: {C: "3"}
""",
        "lib/base.yaml": """
services:
  root:
    image: r
    build: ./ctx
    environment: {A: "1"}
  mid:
    extends: root
    environment: {B: "2"}
""",
    })
    web = _load(tmp_path, "compose.yaml").raw["services"]["web"]
    assert web["image"] == "r"
    assert web["environment"] == {"A": "1", "B": "2", "C": "3"}
    assert web["build"]["context"] == str(tmp_path / "lib" / "ctx")


def test_extends_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  a: {extends: b}\n  b: {extends: a}\n"})
    with pytest.raises(ComposeFileError, match="circular reference"):
        _load(tmp_path, "compose.yaml")


def test_include_scoped_env_and_dirs(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": "include:\n  - sub/compose.yaml\nservices:\n  main: {image: m}\n",
        "sub/compose.yaml": "services:\n  inc:\n    image: ${IMG}\n    volumes: [./d:/d]\n",
        "sub/.env": "IMG=fromsub\n",
    })
    project = _load(tmp_path, "compose.yaml")
    inc = project.raw["services"]["inc"]
    assert inc["image"] == "fromsub"
    assert inc["volumes"][0]["source"] == str(tmp_path / "sub" / "d")


def test_include_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yaml": "include: [b.yaml]\nservices: {a: {image: a}}\n",
                      "b.yaml": "include: [a.yaml]\nservices: {b: {image: b}}\n"})
    with pytest.raises(ComposeFileError, match="include cycle detected"):
        _load(tmp_path, "a.yaml")


def test_profiles(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": """
services:
  web: {image: w}
  debug: {image: d, profiles: [dbg]}
  tools: {image: t, profiles: [tools, dbg]}
"""})
    project = _load(tmp_path, "compose.yaml")
    assert set(project.services) == {"web"}
    assert set(project.all_service_names) == {"web", "debug", "tools"}
    assert project.all_profiles == ("dbg", "tools")
    assert set(_load(tmp_path, "compose.yaml", profiles=("dbg",)).services) == {
        "web", "debug", "tools"}
    env = {"COMPOSE_PROFILES": "tools"}
    assert set(_load(tmp_path, "compose.yaml", environ=env).services) == {"web", "tools"}


def test_env_file_forms(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": """
services:
  web:
    image: x
    env_file:
      - a.env
      - path: missing.env
        required: false
    environment: {B: override}
""",
        "a.env": "# comment\nA=1\nB=2\nexport C='lit $X'\nD=\"q ${A}\"\n",
    })
    env = _load(tmp_path, "compose.yaml").services["web"].environment
    assert env == {"A": "1", "B": "override", "C": "lit $X", "D": "q 1"}
    assert "env_file" not in _load(tmp_path, "compose.yaml").raw["services"]["web"]


def test_required_env_file_missing(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  web: {image: x, env_file: nope.env}\n"})
    with pytest.raises(ComposeFileNotFoundError, match=r"nope\.env"):
        _load(tmp_path, "compose.yaml")


def test_dotenv_and_env_file_flag(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  web: {image: \"${IMG}:${TAG:-latest}\"}\n",
                      ".env": "IMG=fromdot\n", "other.env": "IMG=fromflag\nTAG=2\n"})
    assert _load(tmp_path, "compose.yaml").services["web"].image == "fromdot:latest"
    assert _load(tmp_path, "compose.yaml", env_files=("other.env",)).services["web"].image == \
        "fromflag:2"
    assert _load(tmp_path, "compose.yaml", environ={"IMG": "shell"}).services["web"].image == \
        "shell:latest"


def test_compose_env_files_and_disable_env_file(tmp_path: Path) -> None:
    stack = "services:\n  web: {image: \"${IMG:-none}:${TAG:-latest}\"}\n"
    _write(tmp_path, {"compose.yaml": stack,
                      ".env": "IMG=fromdot\n", "a.env": "IMG=froma\nTAG=1\n",
                      "b.env": "TAG=2\n"})

    def image(environ: dict[str, str], **kw: object) -> str | None:
        return _load(tmp_path, "compose.yaml", environ=environ, **kw).services["web"].image

    assert image({"COMPOSE_ENV_FILES": "a.env,b.env"}) == "froma:2"
    assert image({"COMPOSE_ENV_FILES": "a.env"}, env_files=("b.env",)) == "none:2"
    assert image({"COMPOSE_DISABLE_ENV_FILE": "true"}) == "none:latest"
    assert image({"COMPOSE_DISABLE_ENV_FILE": "0"}) == "fromdot:latest"
    assert image({"COMPOSE_DISABLE_ENV_FILE": "1"}, env_files=("a.env",)) == "froma:1"
    with pytest.raises(ComposeError, match="COMPOSE_DISABLE_ENV_FILE"):
        image({"COMPOSE_DISABLE_ENV_FILE": "maybe"})


def test_include_conflicts_with_a_redefined_resource(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": "include:\n  - sub/compose.yaml\nservices:\n  db:\n    image: postgres:16\n"
                        "  web:\n    image: nginx\nnetworks:\n  n: {driver: bridge}\n",
        "sub/compose.yaml": "services:\n  db:\n    image: postgres\n  web:\n    image: nginx\n"
                            "networks:\n  n: {}\n",
    })
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, "compose.yaml")
    found = {(p.key, p.line, p.message) for p in info.value.problems}
    assert found == {
        ("services.db", 4, "services.db conflicts with imported resource"),
        ("networks.n", 9, "networks.n conflicts with imported resource"),
    }


def test_include_identical_definition_is_no_conflict(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": "include: [a/compose.yaml, b/compose.yaml]\n"
                        "services:\n  web: {image: nginx, volumes: ['./d:/d']}\n",
        "a/compose.yaml": "services:\n  web: {image: nginx, volumes: ['../d:/d']}\n",
        "b/compose.yaml": "services:\n  web: {image: nginx, volumes: ['../d:/d']}\n"
                          "  db: {image: postgres}\n",
    })
    project = _load(tmp_path, "compose.yaml")
    assert sorted(project.services) == ["db", "web"]


def test_two_includes_defining_one_service_differently_conflict(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": "include: [a/compose.yaml, b/compose.yaml]\n",
        "a/compose.yaml": "services:\n  web: {image: nginx}\n",
        "b/compose.yaml": "services:\n  web: {image: httpd}\n",
    })
    with pytest.raises(ComposeFileError, match=r"services\.web conflicts with imported resource"):
        _load(tmp_path, "compose.yaml")
