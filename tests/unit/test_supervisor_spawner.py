"""The fork server's client and protocol, without starting a container: a request for a
container that does not exist comes back as the supervisor's error report."""

from __future__ import annotations

from pathlib import Path

from engine.supervisor_spawner import SupervisorSpawner


def test_a_request_after_hints_gets_its_own_answer_and_report(tmp_path: Path) -> None:
    """Hints (a bridge attachment is coming) get no acknowledgement: the request after them
    reads its own, and the supervisor's report. The server runs without `site` (python -S):
    it found the engine and its dependencies on the path it was given."""
    spawner = SupervisorSpawner()
    try:
        spawner.prewarm()
        spawner.warm_netlink()
        spawner.warm_netlink()
        report = spawner.spawn(tmp_path, "f" * 64)
        assert report.startswith("ERR "), report
        assert "runtime.json" in report
        assert spawner.spawn(tmp_path, "e" * 64, needs_netlink=False).startswith("ERR ")
    finally:
        spawner.close()


def test_a_hint_without_a_server_starts_nothing() -> None:
    spawner = SupervisorSpawner()
    spawner.warm_netlink()
    assert spawner._sock is None and spawner._pid is None
