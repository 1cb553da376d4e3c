"""A stack file with the Compose Specification's `models`, through the CLI: `config` and
`config --models` print them as docker compose does, `up` and `run` of a service that uses
a model fail with docker compose's error (no model runner) and leave nothing behind, and the
services without models still run."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import subprocess

from tests.e2e.test_orchestration import SLEEPER, Stack, engine_leftovers, root, stack  # noqa: F401

MODELS = """
models:
  llm:
    model: ai/smollm2
    context_size: 2048
"""


def test_models_are_printed_and_refused_by_up_and_run(stack: Stack) -> None:
    stack.write({"app": SLEEPER + "models: [llm]\n", "plain": SLEEPER}, MODELS)
    assert stack.ok("config", "--models").stdout == "llm\n"
    assert "context_size: 2048" in stack.ok("config").stdout
    for args in (("up", "-d"), ("run", "--rm", "app", "true"), ("create",)):
        refused = stack.cli(*args)
        assert refused.returncode == 1, args
        assert "'models' support requires Docker Model plugin" in refused.stderr
        assert 'service "app" uses models (llm)' in refused.stderr
        assert "Traceback" not in refused.stderr
    assert engine_leftovers(stack.root, stack.name) == []  # no network, no container
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert stack.name not in links
    stack.ok("up", "-d", "plain")  # a service without models is not concerned
    assert stack.states() == {f"{stack.name}-plain-1": "running"}
