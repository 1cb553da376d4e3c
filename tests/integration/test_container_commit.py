"""`Engine.commit_image` on the real kernel: a running container is paused (recorded, as
`pause` does) while its upper dir is read and unpaused after, not with `pause=False`; a
stopped one commits too; a container that changed nothing adds no layer."""

from __future__ import annotations

import time

import pytest

from engine import commit as commit_module
from engine.api import CommitRequest, ContainerStatus, Engine
from tests.integration.runtime_helpers import run_to_exit, sh


def _running(engine: Engine, name: str, script: str) -> str:
    info = engine.create_container(sh(name, script, stop_timeout=0))
    engine.start_container(info.id)
    deadline = time.monotonic() + 20
    while not (engine.layout.container_dir(info.id) / "upper" / "ready").exists():
        assert time.monotonic() < deadline, "the container never got ready"
        time.sleep(0.05)
    return info.id


@pytest.mark.parametrize("pause", [True, False])
def test_a_running_container_is_paused_only_while_committed(
    engine_with_busybox: Engine, monkeypatch: pytest.MonkeyPatch, pause: bool
) -> None:
    engine = engine_with_busybox
    cid = _running(engine, f"commitpause{int(pause)}", "echo x > /made; touch /ready; sleep 300")
    seen: list[bool] = []
    real = commit_module.commit_upper

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(engine.inspect(cid).state.paused)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(commit_module, "commit_upper", watched)
    try:
        image = engine.commit_image(cid, CommitRequest(reference="committed:x", pause=pause))
        assert seen == [pause]
        state = engine.inspect(cid).state
        assert state.status is ContainerStatus.RUNNING and not state.paused
        assert engine.images.get("committed:x").id == image.id
        assert len(image.diff_ids) == len(engine.images.get("busybox").diff_ids) + 1
    finally:
        engine.remove_container(cid, force=True)


def test_an_unchanged_stopped_container_adds_no_layer(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    code, _out = run_to_exit(engine, sh("commitnothing", "true"))
    assert code == 0
    image = engine.commit_image("commitnothing", CommitRequest(comment="same"))
    assert image.repo_tags == ()
    assert image.diff_ids == engine.images.get("busybox").diff_ids
    history = engine.images.config_document(image)["history"]
    assert history[-1]["empty_layer"] is True and history[-1]["comment"] == "same"
