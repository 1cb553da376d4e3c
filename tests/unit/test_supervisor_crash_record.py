"""A supervisor that fails after the start report cannot tell anyone through its stderr (it is
/dev/null: the CLI may be long gone); what it leaves must say why the container died."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import supervisor
from engine.containers import ContainerSpec, ContainerStore
from engine.layout import Layout

IMAGE = "sha256:" + "0" * 64


def test_a_failing_supervisor_leaves_its_reason_in_the_state_and_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout(tmp_path / "root")
    layout.ensure()
    store = ContainerStore(layout)
    record = store.create(ContainerSpec(name="web-1", image="busybox"), IMAGE)

    def failing_first_start(*_: object) -> None:
        raise RuntimeError("the log disk went away")

    monkeypatch.setattr(supervisor, "first_start_in_helper", failing_first_start)
    with pytest.raises(RuntimeError):  # the failure still ends the supervisor
        supervisor.supervise(str(layout.root), record.id, report_fd=-1)

    state = store.load_state(record.id)
    assert state.error == "supervisor failed: RuntimeError: the log disk went away"
    written = (layout.container_dir(record.id) / supervisor.SUPERVISOR_ERROR_LOG).read_text()
    assert "Traceback" in written and "failing_first_start" in written
