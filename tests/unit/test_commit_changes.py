"""`commit`'s image: the container's config on its image's, `--change` instructions read by
the builder's own parser and dispatch (moby's list of allowed ones), and a history entry
with docker's fields. The image itself is proven for real in tests/e2e/test_commit_cmd.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from compose import labels as L
from compose.cli.app import build_app
from compose.errors import ComposeError
from engine.api import ContainerSpec, EngineError, HealthcheckConfig, PortSpec
from engine.container_commit import CommitRequest, committed_document, container_config
from engine.errors import InvalidArgumentError
from tests.unit.fake_engine import FakeEngine

PARENT: dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Env": ["PATH=/bin", "KEEP=1"], "Cmd": ["sh"], "Labels": {"base": "yes"}},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:base"]},
    "history": [{"created": "2020-01-01T00:00:00Z", "created_by": "import"}],
}


def _doc(changes: tuple[str, ...] = (), spec: ContainerSpec | None = None, **request: Any
         ) -> dict[str, Any]:
    spec = spec or ContainerSpec(name="p-web-1", image="busybox", command=("sleep", "300"))
    return committed_document(
        PARENT, spec, CommitRequest(changes=changes, **request), "sha256:new"
    )


def test_the_container_config_goes_over_the_images() -> None:
    spec = ContainerSpec(
        name="p-web-1", image="busybox", entrypoint=("/entry",), env={"KEEP": "2", "NEW": "x"},
        labels={"com.docker.compose.service": "web"}, user="nobody", working_dir="/srv",
        stop_signal="SIGINT", ports=(PortSpec(target=80),),
        healthcheck=HealthcheckConfig(test=("CMD", "true"), interval=5.0),
    )
    config = container_config(PARENT["config"], spec)
    assert config["Entrypoint"] == ["/entry"] and config["Cmd"] is None  # docker's rule
    assert config["Env"] == ["PATH=/bin", "KEEP=2", "NEW=x"]
    assert config["Labels"] == {"base": "yes", "com.docker.compose.service": "web"}
    assert (config["User"], config["WorkingDir"], config["StopSignal"]) == (
        "nobody", "/srv", "SIGINT")
    assert config["ExposedPorts"] == {"80/tcp": {}}
    assert config["Healthcheck"]["Interval"] == 5_000_000_000
    assert PARENT["config"]["Env"] == ["PATH=/bin", "KEEP=1"]  # the parent is left alone


def test_changes_apply_in_order_like_a_dockerfile() -> None:
    doc = _doc((
        "ENV FOO=bar", "ENV GREETING=hi-$FOO", 'CMD ["cat", "/f"]', "LABEL a=b",
        "EXPOSE 8080/udp", "WORKDIR /app", "WORKDIR sub", "USER 1000", "VOLUME /data",
        "STOPSIGNAL SIGQUIT", "HEALTHCHECK --interval=2s --retries=4 CMD true",
    ))
    config = doc["config"]
    assert config["Env"][-2:] == ["FOO=bar", "GREETING=hi-bar"]
    assert config["Cmd"] == ["cat", "/f"]
    assert config["Labels"] == {"base": "yes", "a": "b"}
    assert config["ExposedPorts"] == {"8080/udp": {}}
    assert config["WorkingDir"] == "/app/sub"
    assert (config["User"], config["Volumes"], config["StopSignal"]) == (
        "1000", {"/data": {}}, "SIGQUIT")
    assert config["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000, "Retries": 4}


def test_a_new_entrypoint_drops_the_cmd_unless_a_change_sets_one() -> None:
    assert _doc(("ENTRYPOINT /run.sh",))["config"]["Cmd"] is None
    doc = _doc(("CMD x", 'ENTRYPOINT ["/run.sh"]'))["config"]
    assert (doc["Entrypoint"], doc["Cmd"]) == (["/run.sh"], ["/bin/sh", "-c", "x"])


def test_history_records_who_why_and_the_containers_command() -> None:
    doc = _doc(("CMD other",), author="Ann <a@x>", comment="fixed it")
    assert doc["history"][0] == PARENT["history"][0]
    entry = doc["history"][-1]
    assert entry["created_by"] == "sleep 300"  # the container's, before the changes
    assert (entry["author"], entry["comment"]) == ("Ann <a@x>", "fixed it")
    assert "empty_layer" not in entry
    assert (doc["author"], doc["comment"]) == ("Ann <a@x>", "fixed it")
    assert doc["rootfs"]["diff_ids"] == ["sha256:base", "sha256:new"]


def test_a_container_that_changed_nothing_adds_no_layer() -> None:
    spec = ContainerSpec(name="p-web-1", image="busybox")
    doc = committed_document(PARENT, spec, CommitRequest(), None)
    assert doc["rootfs"]["diff_ids"] == ["sha256:base"]
    assert doc["history"][-1]["empty_layer"] is True
    assert "author" not in doc and "comment" not in doc["history"][-1]


@pytest.mark.parametrize(("change", "says"), [
    ("RUN true", "--change 'RUN true': run is not a valid change command"),
    ("FROM busybox", "--change 'FROM busybox': from is not a valid change command"),
    ("copy a b", "--change 'copy a b': copy is not a valid change command"),
    ("FOO bar", "--change 'FOO bar': unknown instruction: FOO"),
    ("EXPOSE http", "--change 'EXPOSE http': EXPOSE: invalid containerPort: http"),
    ("HEALTHCHECK --interval=x CMD true", "HEALTHCHECK: --interval: invalid duration 'x'"),
    ("HEALTHCHECK --bogus=1 CMD true", "unknown flag: --bogus for HEALTHCHECK"),
    ("ENV", "--change 'ENV': ENV requires at least one argument"),
])
def test_a_bad_change_is_named(change: str, says: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        CommitRequest(changes=("ENV OK=1", change)).validate()
    assert says in str(caught.value)


@pytest.mark.parametrize(("reference", "says"), [
    ("Upper:tag", "repository name must be lowercase"),
    ("a::b", "invalid reference format"),
    ("x@sha256:" + "0" * 64, "refusing to create a tag with a digest reference"),
])
def test_a_bad_repository_name_is_refused(reference: str, says: str) -> None:
    with pytest.raises(InvalidArgumentError, match=says):
        CommitRequest(reference=reference).validate()


def test_the_reference_is_stored_canonical_and_defaults_to_latest() -> None:
    canonical = CommitRequest(reference="myrepo").checked_reference()
    assert canonical == "docker.io/library/myrepo:latest"
    assert CommitRequest(reference="reg:5000/a/b:v1").checked_reference() == "reg:5000/a/b:v1"
    assert CommitRequest().checked_reference() is None


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    (tmp_path / "compose.yaml").write_text("name: cm\nservices:\n  web: {image: busybox}\n")
    monkeypatch.chdir(tmp_path)
    engine = FakeEngine()
    for number in (1, 2):
        spec = ContainerSpec(name=f"cm-web-{number}", image="busybox", labels={
            L.PROJECT: "cm", L.SERVICE: "web", L.NUMBER: str(number), L.ONEOFF: "False"})
        engine.start_container(engine.create_container(spec).id)
    monkeypatch.setattr("engine.api.Engine", lambda root=None: engine)
    return engine


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), ["--progress", "plain", *args])
    failure = result.exception if isinstance(result.exception, ComposeError | EngineError) else None
    return result.exit_code, result.output + (f"Error: {failure}\n" if failure else "")


def test_commit_passes_every_option_and_shows_the_new_id(fake: FakeEngine) -> None:
    code, out = _cli("commit", "-a", "Ann", "-m", "why", "-c", "ENV A=1", "-c", "CMD x",
                     "--no-pause", "--index", "2", "web", "repo:v1")
    assert code == 0, out
    [(name, request)] = fake.commits
    assert name == "cm-web-2"
    assert request == CommitRequest(reference="repo:v1", author="Ann", comment="why",
                                    changes=("ENV A=1", "CMD x"), pause=False)
    assert f"Container cm-web-2  Committed as sha256:{1:064x}" in out
    assert _cli("commit", "web")[0] == 0 and fake.commits[-1][1].pause is True
    assert _cli("commit", "-p", "web")[0] == 0 and fake.commits[-1][1].pause is True


def test_commit_refuses_bad_input_before_touching_a_container(fake: FakeEngine) -> None:
    for args, says in (
        (("-c", "RUN rm -rf /", "web"), "run is not a valid change command"),
        (("web", "NoUpper"), "repository name must be lowercase"),
        (("nope",), "no such service: nope"),
        (("--index", "5", "web"), 'service "web" is not running container #5'),
    ):
        code, out = _cli("commit", *args)
        assert code == 1 and says in out and "Committing" not in out, (args, out)
    fake.stop_container("cm-web-1")
    fake.stop_container("cm-web-2")
    assert 'service "web" is not running' in _cli("commit", "web")[1]
    assert fake.commits == []
