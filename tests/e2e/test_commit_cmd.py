"""`commit` as a user types it: a file committed from a running service container is there
in a new service's container from the committed image; bad input changes nothing."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import re
import time

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401


def test_a_committed_file_is_in_a_new_container_of_the_committed_image(stack: Stack) -> None:
    image = f"{stack.name}img:v1"
    stack.write({"web": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("exec", "web", "sh", "-c", "echo committed > /hello.txt && rm /bin/true")
    made = stack.ok("commit", "-m", "saved state", "-a", "Ann <ann@example.test>",
                    "-c", "ENV FOO=bar", "-c", 'CMD ["cat", "/hello.txt"]', "web", image)
    found = re.search(rf"Container {stack.name}-web-1  Committed as (sha256:[0-9a-f]{{64}})",
                      made.stderr)
    assert found, made.stderr
    assert stack.states() == {f"{stack.name}-web-1": "running"}  # thawed again
    listed = stack.ok("image", "ls").stdout
    assert re.search(rf"^{stack.name}img\s+v1\s+{found[1][7:19]}\s", listed, re.M), listed
    [inspected] = json.loads(stack.ok("image", "inspect", image).stdout)
    assert inspected["Id"] == found[1]
    assert (inspected["Author"], inspected["Comment"]) == ("Ann <ann@example.test>", "saved state")
    history = stack.ok("image", "history", image).stdout.splitlines()
    assert history[1].split()[-1] == "state" and "sleep 300" in history[1]
    stack.write({"web": SLEEPER, "copy": f"image: {image}\n"})
    assert stack.ok("run", "--rm", "copy").stdout == "committed\n"
    seen = stack.ok("run", "--rm", "copy", "sh", "-c", "echo $FOO; ls /bin/true || echo gone")
    assert seen.stdout == "bar\ngone\n"


def test_commit_refuses_bad_input_and_leaves_nothing(stack: Stack) -> None:
    stack.write({"web": SLEEPER, "idle": SLEEPER})
    stack.ok("up", "-d", "web")
    images_before = stack.ok("image", "ls", "-q").stdout
    for args, says in (
        (("nope",), "no such service: nope"),
        (("idle",), 'service "idle" is not running'),
        (("--index", "2", "web"), 'service "web" is not running container #2'),
        (("-c", "RUN touch /x", "web"), "--change 'RUN touch /x': run is not a valid change"),
        (("-c", "EXPOSE http", "web"), "--change 'EXPOSE http': EXPOSE: invalid containerPort"),
        (("web", "Bad/Name"), "invalid reference format: repository name must be lowercase"),
    ):
        result = stack.cli("commit", *args)
        assert result.returncode == 1 and says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Committing" not in result.stderr
    assert stack.ok("image", "ls", "-q").stdout == images_before
    assert stack.states()[f"{stack.name}-web-1"] == "running"




def test_commit_is_a_container_event(stack: Stack) -> None:
    from tests.e2e.test_events_sequence import _watch

    stack.write({"web": SLEEPER})
    stack.ok("up", "-d")
    watcher = _watch(stack, 6)
    time.sleep(1.5)  # the watcher has taken its first look
    made = stack.ok("commit", "-m", "for the record", "web", f"{stack.name}img")
    image_id = re.search(r"Committed as (sha256:[0-9a-f]{64})", made.stderr)
    assert image_id, made.stderr
    stack.ok("commit", "web")  # no name: a dangling image, no imageRef
    out, _ = watcher.communicate(timeout=60)
    seen = list(map(json.loads, out.splitlines()))
    # Docker pauses a running container while it commits it (`--pause`, on by default)
    assert [e["action"] for e in seen] == ["pause", "commit", "unpause"] * 2, out
    commits = [e for e in seen if e["action"] == "commit"]
    assert [(e["type"], e["service"]) for e in commits] == [("container", "web")] * 2
    first, second = (e["attributes"] for e in commits)
    assert first["comment"] == "for the record" and first["imageID"] == image_id[1]
    assert first["imageRef"] == f"{stack.name}img:latest"
    assert first["name"] == f"{stack.name}-web-1" and first["image"] == "busybox"
    assert second["imageRef"] == "" and second["imageID"] != first["imageID"]
