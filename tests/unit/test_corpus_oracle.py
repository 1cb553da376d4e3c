"""Every stack file of the public corpus (/work/shared/corpus: compose-go's test inputs and the
awesome-compose samples), loaded on its own with `pycompose -f FILE config`, against the
official compose-spec schema as an oracle (after interpolation, as the corpus README asks):

- a file the official schema rejects must be rejected by pycompose too;
- a file it accepts must load, unless it breaks a rule no schema can express (a dependency
  cycle, an undefined reference, a fragment only valid inside its include/extends/override
  set); those are listed below with the error pycompose must give, strictly, so the list stays
  true.

It also keeps the table-driven cases honest: every corpus YAML file is exercised by some case
of cases.json, directly or through include/extends, or by EXTRA_CASES here."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from compose.cli.app import app
from compose.dotenv import parse_dotenv
from compose.interpolation import InterpolationError, interpolate

CORPUS = Path("/work/shared/corpus")
GO = CORPUS / "compose-go"

# Valid for the schema, refused by pycompose (and by docker compose) for a reason the schema
# cannot express: file (relative to the corpus) -> part of the error.
SEMANTIC_ERRORS = {
    "compose-go/loader/extends-depends-on-ref.yaml": 'undefined service "zot"',
    "compose-go/loader/network-mode-and-networks.yaml": "mutually exclusive",
    "compose-go/loader/testdata/compose-depends-on-cycle.yaml": "dependency cycle detected",
    "compose-go/loader/testdata/compose-depends-on-self.yaml": "dependency cycle detected",
    "compose-go/loader/testdata/compose-include-cycle.yaml": "include cycle detected",
    # fragments: their relative paths are meant for the project that includes or extends them
    "compose-go/loader/testdata/include/dir/compose.yaml": "extra.env not found",
    "compose-go/nested-include-extends/dir/included.yaml": "no such file or directory",
    # override files: only complete on top of their base file
    "compose-go/override/depends-on.override.yaml": "neither an image nor a build context",
    "compose-go/override/volume.override.yaml": "neither an image nor a build context",
    "compose-go/override/middle/base.yaml": "undefined network foo",
    "compose-go/override/middle/override.yaml": "neither an image nor a build context",
    # YAML forbids a key twice in a mapping; PyYAML (the oracle's parser) does not check
    "compose-go/override/duplicate-key.yml": 'mapping key "command" already defined',
    "compose-go/override/networks.override.yaml": "undefined network test_network",
}

# Corpus files no case of cases.json reaches, with what `config` must make of them.
EXTRA_CASES = {
    # extends a service of a file in a subfolder, which extends one next to it
    "compose-go/loader/testdata/extends/withdir/compose.yaml": {
        "services.test.image": "hello-world"
    },
    "compose-go/include-env/module/compose.yml": {"services.b.image": "alpine"},
    "compose-go/loader/testdata/combined/dir/included.yaml": {},
    "compose-go/nested-include-extends/dir/extended.yaml": {"services.extended.image": "alpine"},
}


class _TagLoader(yaml.SafeLoader):
    """PyYAML with compose's `!reset` / `!override` read as the plain value they tag."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_TagLoader.add_multi_constructor("!", _untagged)


def _files() -> list[Any]:
    if not CORPUS.is_dir():
        return []
    samples = CORPUS / "awesome-compose"
    found = sorted(GO.rglob("*.y*ml")) + sorted(
        [*samples.glob("*/compose.yaml"), *samples.glob("*/compose.yml")]
    )
    return [pytest.param(p, id=str(p.relative_to(CORPUS))) for p in found]


def _interpolated(value: Any, env: dict[str, str | None]) -> Any:
    if isinstance(value, str):
        try:
            return interpolate(value, env.get)
        except InterpolationError:
            return value
    if isinstance(value, dict):
        return {k: _interpolated(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v, env) for v in value]
    return value


def _official_verdict(path: Path, validator: jsonschema.protocols.Validator) -> str | None:
    """None if the official schema accepts every document of the file, else why not."""
    env: dict[str, str | None] = {}
    if (path.parent / ".env").is_file():
        env.update(parse_dotenv((path.parent / ".env").read_text(), str(path.parent / ".env")))
    try:
        documents = list(yaml.load_all(path.read_text(), Loader=_TagLoader))
    except yaml.YAMLError as exc:
        return f"not YAML: {str(exc).splitlines()[0]}"
    if not documents or documents == [None]:
        return "empty"
    for document in documents:
        for error in validator.iter_errors(_interpolated(document, env)):
            return f"{'.'.join(map(str, error.path))}: {error.message}"
    return None


@pytest.fixture(scope="module")
def official() -> jsonschema.protocols.Validator:
    schema = json.loads((CORPUS / "compose-spec" / "compose-spec.json").read_text())
    return jsonschema.Draft7Validator(schema)


def _config(path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in list(os.environ):
        if key.startswith("COMPOSE_") or key == "PYCOMPOSE_DEBUG":
            monkeypatch.delenv(key)
    monkeypatch.chdir(path.parent)  # reading only: `config` writes nothing next to the file
    return CliRunner().invoke(app, ["-f", path.name, "config", "--format", "json"])


@pytest.mark.parametrize("path", _files())
def test_file_agrees_with_the_official_schema(
    path: Path, monkeypatch: pytest.MonkeyPatch, official: jsonschema.protocols.Validator
) -> None:
    relative = str(path.relative_to(CORPUS))
    verdict = _official_verdict(path, official)
    result = _config(path, monkeypatch)
    message = str(result.exception) if result.exception else result.output
    if verdict is not None:
        assert result.exit_code != 0, f"official schema refuses it ({verdict}); pycompose took it"
    elif relative in SEMANTIC_ERRORS:
        assert result.exit_code != 0, "expected a semantic error; it loaded"
        assert SEMANTIC_ERRORS[relative] in message
    else:
        assert result.exit_code == 0, message
        # and what pycompose prints is valid for the official schema as well
        assert not list(official.iter_errors(json.loads(result.stdout)))


@pytest.mark.parametrize("relative", sorted(EXTRA_CASES))
def test_extra_cases(relative: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _config(CORPUS / relative, monkeypatch)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    output = json.loads(result.stdout)
    for dotted, expected in EXTRA_CASES[relative].items():
        node = output
        for part in dotted.split("."):
            node = node[part]
        assert node == expected, dotted


def _reached_by_cases() -> set[Path]:
    """Files a case names (-f, or the default file of its folder) or EXTRA_CASES lists, and
    the files they include or extend."""
    cases = json.loads((GO / "cases.json").read_text())["cases"]
    named: set[Path] = set()
    for case in cases:
        folder = GO / case["dir"]
        args = case["args"]
        files = [args[i + 1] for i, a in enumerate(args) if a in ("-f", "--file")]
        if not files:
            files = [n for n in ("compose.yaml", "compose.yml") if (folder / n).is_file()][:1]
        named |= {(folder / f).resolve() for f in files}
    named |= {(CORPUS / r).resolve() for r in EXTRA_CASES}
    reached, todo = set(named), list(named)
    while todo:  # include / extends references, relative to the referencing file
        current = todo.pop()
        for ref in re.findall(r"[\w./-]+\.ya?ml", current.read_text()):
            target = (current.parent / ref).resolve()
            if target.is_file() and target not in reached:
                reached.add(target)
                todo.append(target)
    return reached


@pytest.mark.skipif(not GO.is_dir(), reason="corpus not present")
def test_every_compose_go_file_is_exercised_by_a_case() -> None:
    reached = _reached_by_cases()
    missing = [str(p.relative_to(GO)) for p in sorted(GO.rglob("*.y*ml"))
               if p.resolve() not in reached]
    assert missing == []
