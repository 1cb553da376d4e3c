"""The Compose Specification's `models` (top level) and a service's `models`: loaded, merged,
validated and printed by `config` as docker compose does; `config --models` lists them; `up`
and `run` of a service that uses one fail before anything is made (no model runner here, as
docker compose fails without the Docker Model plugin)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from compose.cli.app import app
from compose.errors import ComposeError, ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions
from compose.orchestrator import Orchestrator
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: mdl
    services:
      app:
        image: busybox
        models: [llm]
      other:
        image: busybox
        models:
          emb: {endpoint_var: EMB_URL, model_var: EMB_NAME}
      plain:
        image: busybox
    models:
      llm:
        model: ai/smollm2
        context_size: ${CTX:-1024}
      emb:
        model: ai/embeddinggemma
        name: my-emb
        runtime_flags: ["--a-flag"]
      spare:
        model: ai/unused
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(STACK))
    monkeypatch.chdir(tmp_path)
    for name in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "COMPOSE_PROFILES", "CTX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", "")
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{result.output}{result.exception!r}"
    return result.stdout


def test_config_prints_models_normalized_and_only_the_used_ones(stack: Path) -> None:
    out = yaml.safe_load(_run("config"))
    assert out["services"]["app"]["models"] == {"llm": None}  # short syntax as a mapping
    assert out["services"]["other"]["models"] == {
        "emb": {"endpoint_var": "EMB_URL", "model_var": "EMB_NAME"}
    }
    assert "models" not in out["services"]["plain"]
    assert out["models"] == {
        "llm": {"model": "ai/smollm2", "context_size": 1024},  # interpolated, an integer
        "emb": {"model": "ai/embeddinggemma", "name": "my-emb", "runtime_flags": ["--a-flag"]},
    }
    everything = yaml.safe_load(_run("--all-resources", "config"))
    assert sorted(everything["models"]) == ["emb", "llm", "spare"]
    assert yaml.safe_load(_run("config", "app"))["models"] == {
        "llm": {"model": "ai/smollm2", "context_size": 1024}
    }


def test_config_models_lists_the_model_names(stack: Path) -> None:
    assert _run("config", "--models") == "emb\nllm\n"
    assert _run("--all-resources", "config", "--models") == "emb\nllm\nspare\n"


def test_an_override_merges_a_service_s_models(stack: Path) -> None:
    (stack / "compose.override.yaml").write_text(textwrap.dedent("""
        services:
          app:
            models:
              llm: {model_var: LLM}
        models:
          llm: {model: ai/other}
    """))
    out = yaml.safe_load(_run("config"))
    assert out["services"]["app"]["models"] == {"llm": {"model_var": "LLM"}}
    assert out["models"]["llm"] == {"model": "ai/other", "context_size": 1024}


@pytest.mark.parametrize(("text", "messages"), [
    ("services: {a: {image: x, models: [nope]}}\n",
     ['service "a" refers to undefined model nope: invalid compose project']),
    ("services: {a: {image: x}}\nmodels: {m: {context_size: 1}}\n",
     ["models.m.model is required"]),
    ("services: {a: {image: x, models: {m: {url: y}}}}\nmodels: {m: {model: ai/m}}\n",
     ["additional properties 'url' not allowed"]),
    ("services: {a: {image: x}}\nmodels: {m: {model: ai/m, flags: []}}\n",
     ["additional properties 'flags' not allowed"]),
])
def test_bad_models_are_refused_naming_file_and_key(
    tmp_path: Path, text: str, messages: list[str]
) -> None:
    (tmp_path / "compose.yaml").write_text(text)
    with pytest.raises(ComposeFileError) as info:
        load_project(LoadOptions(cwd=tmp_path, project_name="t", environ={}))
    found = str(info.value)
    assert all(m in found for m in messages), found
    assert str(tmp_path / "compose.yaml") + ":" in found  # the file and line


def test_up_of_a_service_with_models_fails_before_anything_is_made(stack: Path) -> None:
    engine = FakeEngine()
    project = load_project(LoadOptions(cwd=stack, environ={}))
    orch = Orchestrator(engine, project)  # type: ignore[arg-type]
    with pytest.raises(ComposeError) as info:
        orch.up()
    assert str(info.value).startswith("'models' support requires Docker Model plugin")
    assert 'service "app" uses models (llm)' in str(info.value)
    assert engine.list_containers() == []
    with pytest.raises(ComposeError, match='service "other" uses models'):
        orch.check_models(["other"])
    orch.check_models(["plain"])  # a service without models is fine
