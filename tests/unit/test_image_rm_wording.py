"""`image rm` says what it untagged as docker does."""

from __future__ import annotations

from compose.cli.image_cmds import _untagged_names

ID = "sha256:" + "ab" * 32


def test_a_bare_name_is_its_latest_tag() -> None:
    assert _untagged_names("busybox", ID, ("busybox:latest",)) == ["busybox:latest"]
    assert _untagged_names("127.0.0.1:5000/app", ID, ()) == ["127.0.0.1:5000/app:latest"]


def test_a_tag_or_digest_is_kept_as_given() -> None:
    assert _untagged_names("app:2", ID, ("app:2",)) == ["app:2"]
    assert _untagged_names("app@sha256:" + "cd" * 32, ID, ()) == ["app@sha256:" + "cd" * 32]


def test_by_id_every_tag_is_untagged() -> None:
    assert _untagged_names("abab", ID, ("a:1", "b:2")) == ["a:1", "b:2"]
