"""`compose.Stack` on StackFakeEngine (no root): what a failed `up` reports and when, how the
host reaches services in other network modes, and the small conveniences (timeouts, str
arguments)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from compose import ServiceNotReadyError, Stack, StackError
from compose.errors import ServiceNotFoundError
from tests.unit.fake_engine import Script
from tests.unit.stack_fake_engine import StackFakeEngine

DEPENDS = """
services:
  migrate:
    image: busybox
  db:
    image: busybox
  app:
    image: busybox
    depends_on:
      migrate: {condition: service_completed_successfully}
      db: {condition: service_healthy}
"""


def _stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, engine: StackFakeEngine,
    **kwargs: Any,
) -> Stack:
    (tmp_path / "compose.yaml").write_text(text)
    monkeypatch.setattr("engine.api.Engine", lambda root=None: engine)
    return Stack([tmp_path / "compose.yaml"], project_name="p", **kwargs)


def test_a_failed_dependency_is_reported_with_its_log_before_teardown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = StackFakeEngine(
        scripts={"migrate": Script(exit_after=0.05, exit_code=1, health=None)},
        log_lines={"migrate": ["migrating", "table users is broken"]},
    )
    stack = _stack(tmp_path, monkeypatch, DEPENDS, engine)
    with pytest.raises(ServiceNotReadyError) as caught, stack:
        pass
    message = str(caught.value)
    assert message.startswith("stack p did not start: ")
    assert "didn't complete successfully: exit 1" in message  # the orchestrator's reason
    assert 'service "migrate" (p-migrate-1): exited with code 1' in message
    assert "  | table users is broken" in message  # read before the stack was removed
    assert 'service "app"' not in message  # never started: nothing to show
    assert engine.list_containers() == []


def test_an_unhealthy_dependency_is_reported_with_its_probe_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = StackFakeEngine(
        scripts={"migrate": Script(exit_after=0.01, health=None),
                 "db": Script(health="unhealthy")},
        log_lines={"db": ["db starting"]},
        probe_output={"db": "connection refused"},
    )
    stack = _stack(tmp_path, monkeypatch, DEPENDS, engine)
    with pytest.raises(ServiceNotReadyError) as caught, stack:
        pass
    message = str(caught.value)
    assert "p-db-1 is unhealthy" in message
    assert "exit 1: connection refused" in message and "  | db starting" in message
    assert engine.list_containers() == []


def test_a_dependency_that_never_turns_healthy_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = StackFakeEngine(
        scripts={"migrate": Script(exit_after=0.01, health=None),
                 "db": Script(health="healthy", healthy_after=3600)},
    )
    stack = _stack(tmp_path, monkeypatch, DEPENDS, engine, up_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ServiceNotReadyError) as caught:
        stack.up()
    assert time.monotonic() - started < 10  # it used to wait forever
    message = str(caught.value)
    assert "gave up waiting after 0.5s" in message
    assert 'service "db" (p-db-1): health: starting' in message
    assert "left up for inspection" in (caught.value.hint or "")  # up() alone keeps it
    assert len(engine.list_containers()) == 2  # app waits to be created
    stack.down()
    assert engine.list_containers() == []


NETWORK_MODES = """
services:
  web:
    image: busybox
  sidecar:
    image: busybox
    network_mode: service:web
  hosted:
    image: busybox
    network_mode: host
  joined:
    image: busybox
    network_mode: container:p-web-1
  isolated:
    image: busybox
    network_mode: none
"""


def test_ip_follows_the_network_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = StackFakeEngine(scripts={})
    with _stack(tmp_path, monkeypatch, NETWORK_MODES, engine, up_timeout=5) as stack:
        web_ip = stack.service("web").ip
        assert web_ip.startswith("10.99.0.")
        assert stack.service("sidecar").ip == web_ip  # one network namespace
        assert stack.service("joined").ip == web_ip
        assert stack.service("hosted").ip == "127.0.0.1"
        with pytest.raises(StackError, match=r"no network address.*network_mode: none"):
            stack.service("isolated").ip  # noqa: B018


def test_wait_for_port_on_a_host_network_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = StackFakeEngine(scripts={})
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        with _stack(tmp_path, monkeypatch, NETWORK_MODES, engine, up_timeout=5) as stack:
            stack.service("hosted").wait_for_port(port, timeout=5)
            stack.service("hosted").wait_for_port(str(port), timeout=5)
    finally:
        listener.close()


def test_profiles_may_be_one_string(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n"
        "  db:\n    image: busybox\n    profiles: [debug]\n"
    )
    stack = Stack(tmp_path / "compose.yaml", profiles="debug", root=tmp_path)
    assert stack.profiles == ("debug",)
    assert set(stack.services) == {"web", "db"}


def test_a_service_outside_the_active_profiles_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n"
        "  db:\n    image: busybox\n    profiles: [debug]\n"
    )
    stack = Stack(tmp_path / "compose.yaml", root=tmp_path)
    with pytest.raises(ServiceNotFoundError, match="service db is defined but not enabled"):
        stack.service("db")
    with pytest.raises(ServiceNotFoundError, match="no such service: dbx"):
        stack.service("dbx")


def test_constructor_timeouts_are_what_up_and_down_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = StackFakeEngine(scripts={})
    stack = _stack(tmp_path, monkeypatch, "services:\n  web:\n    image: busybox\n", engine,
                   up_timeout=12, down_timeout=3)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(stack, "wait_ready", lambda timeout: seen.setdefault("up", timeout))
    from compose.orchestrator import Orchestrator

    real_down = Orchestrator.down

    def down(self: Orchestrator, options: Any, *args: Any, **kwargs: Any) -> Any:
        seen["down"] = options.timeout
        return real_down(self, options, *args, **kwargs)

    monkeypatch.setattr(Orchestrator, "down", down)
    with stack:
        pass
    assert seen == {"up": 12, "down": 3}
    stack.up()
    stack.down(timeout=1)
    assert seen["down"] == 1


class _ExecEngine(StackFakeEngine):
    """Records what exec sends; publishes 9000/tcp."""

    def exec_in_container(self, name_or_id: str, argv: list[str], **kwargs: Any) -> Any:
        self.sent = kwargs["stdin"]
        return SimpleNamespace(exit_code=0, output="ok")

    def _observe(self, c: Any) -> Any:
        import dataclasses

        from engine.ports import PublishedPort

        state = super()._observe(c)
        if not state.ports:
            state = c.state = dataclasses.replace(
                state, ports=(PublishedPort("0.0.0.0", 41000, 9000, "tcp"),)
            )
        return state


def test_exec_stdin_str_and_port_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _ExecEngine(scripts={})
    with _stack(tmp_path, monkeypatch, "services:\n  web:\n    image: busybox\n", engine,
                up_timeout=5) as stack:
        web = stack.service("web")
        assert web.exec(["cat"], stdin="héllo") == (0, "ok")
        assert engine.sent == "héllo".encode()
        web.exec(["cat"], stdin=b"raw")
        assert engine.sent == b"raw"
        with pytest.raises(TypeError, match="stdin must be bytes or str"):
            web.exec(["cat"], stdin=42)  # type: ignore[arg-type]
        assert web.port(9000) == web.port("9000") == web.port("9000/tcp") == 41000
        with pytest.raises(StackError, match="9000/udp"):
            web.port("9000/udp")
        with pytest.raises(StackError, match="not a port number"):
            web.port("http")
