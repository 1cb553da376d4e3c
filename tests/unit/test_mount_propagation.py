"""`bind.propagation` from the stack file to the engine's mount flags, and Docker's host-side
rule (a slave bind needs a shared or slave host mount) read from mountinfo."""

from __future__ import annotations

from pathlib import Path

from compose.container_spec import build_container_spec
from compose.loader import load_project
from compose.model import LoadOptions
from engine import mount_propagation as mp

STACK = """
services:
  app:
    image: busybox
    volumes:
      - ./a:/a:rslave
      - {type: bind, source: ./b, target: /b, bind: {propagation: rshared}}
      - ./c:/c
"""

MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /srv/shared rw shared:7 - tmpfs t rw
41 27 0:51 / /srv/slave rw master:7 - tmpfs t rw
42 27 0:52 / /srv/private rw - tmpfs t rw
"""


def test_propagation_of_both_syntaxes_reaches_the_container_spec(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(STACK)
    project = load_project(LoadOptions(cwd=tmp_path, environ={}))
    spec = build_container_spec(project, project.services["app"], 1, "sha256:" + "0" * 64)
    assert {m.target: m.propagation for m in spec.mounts} == {
        "/a": "rslave", "/b": "rshared", "/c": None,
    }


def test_root_is_a_slave_only_when_a_bind_must_receive_host_mounts() -> None:
    assert mp.root_flags([None, "private"]) == mp.MS_REC | mp.MS_PRIVATE
    assert mp.root_flags([None, "rslave"]) == mp.MS_REC | mp.MS_SLAVE
    assert mp.bind_flags(None) == mp.MS_REC | mp.MS_PRIVATE  # Docker's default, rprivate


def test_host_mount_must_be_able_to_propagate() -> None:
    assert mp.check_source("/srv/shared/x", "rshared", MOUNTINFO) is None
    assert mp.check_source("/srv/slave/x", "rslave", MOUNTINFO) is None
    assert mp.check_source("/srv/private/x", "private", MOUNTINFO) is None
    shared_on_slave = mp.check_source("/srv/slave/x", "shared", MOUNTINFO)
    assert shared_on_slave is not None and "on a shared mount" in shared_on_slave
    problem = mp.check_source("/srv/private/x", "rslave", MOUNTINFO)
    assert problem is not None and "/srv/private, which is private" in problem
    assert mp.check_source("/srv/sharedness", "rslave", MOUNTINFO) is not None  # not a prefix
