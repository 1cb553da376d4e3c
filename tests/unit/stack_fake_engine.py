"""A FakeEngine (tests/unit/fake_engine.py) that `compose.Stack` and the pytest plugin can run
on without root: it adds the calls a Stack makes beyond the orchestrator's (logs, lookups by
name, addresses) and can be installed in place of `engine.api.Engine` — also in a pytest
subprocess, through `install_from_environment` in a conftest, scripted by an environment
variable, with every up/down appended to a file the outer test reads."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from engine.api import ContainerInfo, ContainerSpec, ContainerStatus
from tests.unit.fake_engine import FakeEngine, Script

SCRIPTS_ENV = "PYCOMPOSE_FAKE_SCRIPTS"  # {"service": {Script fields..., "logs": [...]}}
EVENTS_ENV = "PYCOMPOSE_FAKE_EVENTS"  # a file: one "create <name>" / "remove <name>" a line


@dataclass
class StackFakeEngine(FakeEngine):
    """FakeEngine plus logs per service, health probe output and addresses."""

    log_lines: dict[str, list[str]] = field(default_factory=dict)
    probe_output: dict[str, str] = field(default_factory=dict)
    events_file: str | None = None

    def _record(self, line: str) -> None:
        if self.events_file:
            with open(self.events_file, "a", encoding="utf-8") as out:
                out.write(line + "\n")

    def _observe(self, c: Any) -> Any:
        state = super()._observe(c)
        service = c.record.spec.labels.get("com.docker.compose.service", "")
        if state.health_status == "unhealthy" and service in self.probe_output:
            state = c.state = dataclasses.replace(
                state, health_log=[{"ExitCode": 1, "Output": self.probe_output[service]}]
            )
        if state.status is ContainerStatus.RUNNING and not state.addresses:
            addresses = {a.network: f"10.99.0.{len(self._containers) + 1}"
                         for a in c.record.spec.networks}
            state = c.state = dataclasses.replace(state, addresses=addresses)
        return state

    def create_container(self, spec: ContainerSpec, replacing: str | None = None) -> ContainerInfo:
        info = super().create_container(spec, replacing)
        self._record(f"create {spec.name}")
        return info

    def remove_container(self, name_or_id: str, force: bool = False, **kwargs: Any) -> None:
        name = self._get(name_or_id).record.name
        super().remove_container(name_or_id, force, **kwargs)
        self._record(f"remove {name}")

    def find_container(self, name_or_id: str) -> ContainerInfo | None:
        try:
            return self.inspect(name_or_id)
        except Exception:
            return None

    def logs(self, name_or_id: str, *, tail: int | None = None, **_: Any) -> Iterator[Any]:
        c = self._get(name_or_id)
        if c.state.status is ContainerStatus.CREATED:
            return iter(())
        service = c.record.spec.labels.get("com.docker.compose.service", "")
        lines = self.log_lines.get(service, [])
        if tail is not None:
            lines = lines[-tail:] if tail else []
        return iter(SimpleNamespace(text=f"{text}\n") for text in lines)


def from_environment() -> StackFakeEngine:
    """The engine a pytest subprocess's conftest installs (see SCRIPTS_ENV, EVENTS_ENV)."""
    scripts: dict[str, Script] = {}
    logs: dict[str, list[str]] = {}
    probes: dict[str, str] = {}
    for service, fields in json.loads(os.environ.get(SCRIPTS_ENV, "{}")).items():
        logs[service] = list(fields.pop("logs", []))
        if "probe_output" in fields:
            probes[service] = fields.pop("probe_output")
        scripts[service] = Script(**fields)
    return StackFakeEngine(
        scripts=scripts, log_lines=logs, probe_output=probes,
        events_file=os.environ.get(EVENTS_ENV),
    )


CONFTEST = '''
import sys
sys.path.insert(0, {repo!r})
import engine.api
from tests.unit.stack_fake_engine import from_environment

_ENGINE = from_environment()
engine.api.Engine = lambda root=None: _ENGINE
'''


def conftest_source(repo: str) -> str:
    """A conftest.py that runs every stack of the session on one StackFakeEngine."""
    return CONFTEST.format(repo=repo)
