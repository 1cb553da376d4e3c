"""Image reference parsing follows Docker's normalization (distribution/reference)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidArgumentError
from engine.references import Reference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "familiar", "canonical"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", None,
         "busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("user/app", "docker.io", "user/app", "latest", None,
         "user/app:latest", "docker.io/user/app:latest"),
        ("docker.io/library/a/b", "docker.io", "library/a/b", "latest", None,
         "library/a/b:latest", "docker.io/library/a/b:latest"),
        ("myreg:5000/x/y:1", "myreg:5000", "x/y", "1", None,
         "myreg:5000/x/y:1", "myreg:5000/x/y:1"),
        ("localhost/foo", "localhost", "foo", "latest", None,
         "localhost/foo:latest", "localhost/foo:latest"),
        ("localhost:5000/foo:dev", "localhost:5000", "foo", "dev", None,
         "localhost:5000/foo:dev", "localhost:5000/foo:dev"),
        ("example.com/a/b/c:v1.2-rc_3", "example.com", "a/b/c", "v1.2-rc_3", None,
         "example.com/a/b/c:v1.2-rc_3", "example.com/a/b/c:v1.2-rc_3"),
        ("[::1]:5000/foo:bar", "[::1]:5000", "foo", "bar", None,
         "[::1]:5000/foo:bar", "[::1]:5000/foo:bar"),
        ("Foo/bar", "Foo", "bar", "latest", None, "Foo/bar:latest", "Foo/bar:latest"),
        ("a__b/c.d/e-f--g", "docker.io", "a__b/c.d/e-f--g", "latest", None,
         "a__b/c.d/e-f--g:latest", "docker.io/a__b/c.d/e-f--g:latest"),
        ("localhost:5000", "docker.io", "library/localhost", "5000", None,
         "localhost:5000", "docker.io/library/localhost:5000"),
        (f"busybox@{DIGEST}", "docker.io", "library/busybox", None, DIGEST,
         f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", "docker.io", "library/busybox", "1", DIGEST,
         f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}"),
    ],
)
def test_parse_normalizes_like_docker(
    text: str,
    domain: str,
    path: str,
    tag: str | None,
    digest: str | None,
    familiar: str,
    canonical: str,
) -> None:
    ref = parse_reference(text)
    assert ref == Reference(domain=domain, path=path, tag=tag, digest=digest)
    assert ref.familiar() == familiar
    assert ref.canonical() == canonical
    assert parse_reference(ref.canonical()) == ref
    assert parse_reference(ref.familiar()) == ref


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("Busybox", "lowercase"),
        ("user/App", "lowercase"),
        ("busybox:", "bad characters"),
        (":tag", "bad characters"),
        ("bus box", "bad characters"),
        ("busybox:has space", "bad characters"),
        ("-foo", "bad characters"),
        ("foo-", "bad characters"),
        ("foo_", "bad characters"),
        ("a/../b", "bad characters"),
        ("a//b", "bad characters"),
        ("busybox:-tag", "bad characters"),
        ("busybox:" + "t" * 129, "bad characters"),
        ("a" * 64, "64-byte"),
        ("busybox@sha256:abc", "bad characters"),
        ("busybox@sha256:" + "a" * 63 + "g", "bad characters"),
        ("busybox@md5:" + "a" * 32, "unsupported digest"),
        ("busybox@sha256:" + "a" * 65, "invalid sha256"),
        ("busybox@sha256:" + "A" * 64, "invalid sha256"),
        ("x/" + "a" * 250, "255"),
        ("ünïcode", "bad characters"),
    ],
)
def test_parse_rejects_bad_names(text: str, why: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_reference(text)
    assert why in str(info.value)
    assert "invalid reference format" in str(info.value)


def test_tag_max_length_is_128() -> None:
    assert parse_reference("busybox:" + "t" * 128).tag == "t" * 128


def test_reference_is_hashable_and_str_is_familiar() -> None:
    ref = parse_reference("busybox")
    assert {ref: 1}[parse_reference("docker.io/library/busybox:latest")] == 1
    assert str(ref) == "busybox:latest"
    assert ref.name == "docker.io/library/busybox"
    assert ref.familiar_name == "busybox"
