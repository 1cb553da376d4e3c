"""`volumes` as a user types it: exactly the project's volumes (not a neighbour project's),
narrowed by service, in docker's table and JSON."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import re

from tests.conftest import run_cli
from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401


def test_volumes_lists_exactly_the_projects_volumes(stack: Stack) -> None:
    stack.write(
        {"a": SLEEPER + "volumes: [data:/data, /anon]\n", "b": SLEEPER + "volumes: [other:/o]\n",
         "c": SLEEPER},
        extra="volumes:\n  data: {}\n  other: {}\n",
    )
    stack.ok("up", "-d")
    neighbour = f"{stack.name}x"
    run_cli(["-p", neighbour, "up", "-d", "b"], cwd=stack.directory, root=stack.root)
    try:
        listed = stack.ok("volumes", "-q").stdout.split()
        anonymous = [n for n in listed if re.fullmatch(r"[0-9a-f]{64}", n)]
        assert sorted(set(listed) - set(anonymous)) == [f"{stack.name}_data", f"{stack.name}_other"]
        assert len(anonymous) == 1
        table = stack.ok("volumes", "b").stdout.splitlines()
        assert table == ["DRIVER    VOLUME NAME", f"local     {stack.name}_other"]
        assert stack.ok("volumes", "-q", "c").stdout == ""
        [row] = [json.loads(x) for x in stack.ok("volumes", "--format", "json", "b").stdout.split()]
        assert row["Name"] == f"{stack.name}_other" and row["Driver"] == "local"
        assert f"com.docker.compose.project={stack.name}" in row["Labels"]
        bad = stack.cli("volumes", "nope")
        assert bad.returncode == 1 and "no such service: nope" in bad.stderr
    finally:
        run_cli(["-p", neighbour, "down", "-v", "-t", "0"], cwd=stack.directory, root=stack.root)
