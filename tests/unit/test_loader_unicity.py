"""Lists keep one entry per key after a merge and within one file, as compose-go's
EnforceUnicity (override/uncity.go) does; profiles are combined, secrets/configs merge by
where they are mounted."""

from __future__ import annotations

from pathlib import Path

from compose.loader import load_project
from compose.model import LoadOptions

BASE = """services:
  web:
    image: x
    profiles: [profile1, profile2]
    cap_add: [NET_ADMIN, NET_ADMIN, SYS_TIME]
    cap_drop: [MKNOD]
    dns: [1.1.1.1]
    dns_opt: [use-vc, use-vc]
    dns_search: [example.com]
    links: [db, db]
    tmpfs: [/run, /run]
    devices: ["/dev/a:/dev/x", "/dev/b:/dev/y"]
    networks:
      default:
        aliases: [one, one, two]
    secrets:
      - s1
      - {source: s2, target: /run/secrets/other}
    configs:
      - {source: c1, target: /etc/app.conf}
  db:
    image: db
secrets:
  s1: {file: ./s1}
  s2: {file: ./s2}
  s3: {file: ./s3}
configs:
  c1: {content: one}
  c2: {content: two}
"""

OVERRIDE = """services:
  web:
    profiles: [profile2, profile3]
    cap_add: [SYS_TIME]
    cap_drop: [MKNOD]
    dns: [1.1.1.1, 8.8.8.8]
    dns_opt: [use-vc]
    dns_search: [example.com]
    links: [db]
    tmpfs: [/run]
    devices: ["/dev/c:/dev/x"]
    networks:
      default:
        aliases: [two, three]
    secrets:
      - {source: s3, target: /run/secrets/s1}
    configs:
      - {source: c2, target: /etc/app.conf}
"""


def test_lists_are_unique_after_merge(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(BASE)
    (tmp_path / "compose.override.yaml").write_text(OVERRIDE)
    web = load_project(
        LoadOptions(cwd=tmp_path, project_name="t", profiles=("profile3",))
    ).services["web"].raw
    assert web["profiles"] == ["profile1", "profile2", "profile3"]
    assert web["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert web["cap_drop"] == ["MKNOD"]
    assert web["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert web["dns_opt"] == ["use-vc"]
    assert web["dns_search"] == ["example.com"]
    assert web["links"] == ["db"]
    assert web["tmpfs"] == ["/run"]
    assert web["devices"] == ["/dev/c:/dev/x", "/dev/b:/dev/y"]
    assert web["networks"]["default"]["aliases"] == ["one", "two", "three"]
    # by target: s3 mounted at /run/secrets/s1 replaces s1; c2 replaces c1 at /etc/app.conf
    assert web["secrets"] == [{"source": "s3", "target": "/run/secrets/s1"},
                              {"source": "s2", "target": "/run/secrets/other"}]
    assert web["configs"] == [{"source": "c2", "target": "/etc/app.conf"}]


def test_lists_are_unique_within_one_file(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(BASE)
    web = load_project(
        LoadOptions(cwd=tmp_path, project_name="t", profiles=("profile1",))
    ).services["web"].raw
    assert web["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert web["links"] == ["db"]
    assert web["networks"]["default"]["aliases"] == ["one", "two"]
