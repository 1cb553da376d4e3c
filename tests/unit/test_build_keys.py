"""A service's `build:` keys beyond the Dockerfile as the builder receives them:
additional_contexts (directories, images, services and the order they impose), the RUN
steps' sandbox (network, extra_hosts, shm_size, ulimits, privileged, entitlements), and the
keys that are refused or only warned about. Pure: nothing is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.build_contexts import with_context_services
from compose.build_keys import build_key_warnings
from compose.errors import ComposeError
from compose.image_policy import build_options, build_section
from compose.loader import load_project
from compose.model import LoadOptions, Project
from engine.api import NamedContext, host_architecture


def _project(tmp_path: Path, stack: str) -> Project:
    (tmp_path / "compose.yaml").write_text(stack)
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def _options(tmp_path: Path, build: str, service: str = "app"):  # type: ignore[no-untyped-def]
    stack = "services:\n  base:\n    image: base:1\n  app:\n    build:\n" + "".join(
        f"      {line}\n" for line in build.strip().splitlines()
    )
    project = _project(tmp_path, stack)
    return build_options(project, project.services[service])


def test_additional_contexts_resolve_directories_images_and_services(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    options = _options(tmp_path, """
context: .
additional_contexts:
  assets: ./shared
  bb: docker-image://busybox:1.36
  basesvc: service:base
""")
    assert options.named_contexts == (
        NamedContext("assets", directory=tmp_path / "shared"),
        NamedContext("bb", image="busybox:1.36"),
        NamedContext("basesvc", image="base:1"),
    )


def test_additional_contexts_in_list_form(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    options = _options(tmp_path, "context: .\nadditional_contexts: [assets=./shared]")
    assert options.named_contexts == (NamedContext("assets", directory=tmp_path / "shared"),)


@pytest.mark.parametrize(("value", "message"), [
    ("./missing", r"service app: build.additional_contexts.x: .*missing does not exist"),
    ("service:ghost", r"service app: build.additional_contexts.x: service:ghost: no such"),
    ("https://example.invalid/repo.git", r"build.additional_contexts.x: https://.* is not"
     " supported"),
    ("oci-layout:///tmp/layout", r"build.additional_contexts.x: oci-layout://.* is not"),
])
def test_bad_additional_contexts_name_the_service_and_key(
    tmp_path: Path, value: str, message: str
) -> None:
    with pytest.raises(ComposeError, match=message):
        _options(tmp_path, f"context: .\nadditional_contexts:\n  x: \"{value}\"")


def test_a_file_is_not_a_context_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ComposeError, match=r"build.additional_contexts.x: .*file is not a dir"):
        _options(tmp_path, "context: .\nadditional_contexts: {x: ./file}")


def test_service_contexts_order_the_builds_and_a_cycle_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, """services:
  app: {build: {context: ., additional_contexts: {b: "service:mid"}}}
  mid: {build: {context: ., additional_contexts: {b: "service:base"}}}
  base: {build: .}
  other: {build: .}
""")
    assert with_context_services(project, ["app", "other"]) == ["base", "mid", "app", "other"]
    assert with_context_services(project, ["base", "app"]) == ["base", "mid", "app"]
    cyclic = _project(tmp_path, """services:
  a: {build: {context: ., additional_contexts: {b: "service:b"}}}
  b: {build: {context: ., additional_contexts: {a: "service:a"}}}
""")
    with pytest.raises(ComposeError, match="dependency cycle: a -> b -> a"):
        with_context_services(cyclic, ["a"])


def test_sandbox_keys_reach_the_run_steps(tmp_path: Path) -> None:
    options = _options(tmp_path, """
context: .
extra_hosts: ["buildhost=10.1.2.3", "other:10.0.0.9"]
shm_size: 32m
ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
network: none
privileged: true
""")
    assert options.extra_hosts == ("buildhost=10.1.2.3", "other=10.0.0.9")
    assert options.shm_size == 32 * 1024 * 1024
    assert options.ulimits == {"nofile": (100, 200), "nproc": (50, 50)}
    assert options.network == "none"
    assert options.allow_insecure is True


def test_defaults_leave_the_sandbox_as_it_was(tmp_path: Path) -> None:
    options = _options(tmp_path, "context: .")
    assert (options.extra_hosts, options.shm_size, options.ulimits) == ((), None, {})
    assert (options.network, options.allow_insecure, options.named_contexts) == (
        "host", False, ())
    assert _options(tmp_path, "context: .\nnetwork: default").network == "host"
    assert _options(tmp_path, "context: .\nnetwork: host").network == "host"


def test_the_insecure_entitlement_is_granted_by_entitlements_too(tmp_path: Path) -> None:
    options = _options(tmp_path, "context: .\nentitlements: [network.host, security.insecure]")
    assert options.allow_insecure is True
    with pytest.raises(ComposeError, match=r"build\.entitlements: unknown entitlement 'bogus'"):
        _options(tmp_path, "context: .\nentitlements: [bogus]")


@pytest.mark.parametrize(("build", "message"), [
    ("network: mynet", r'service app: build.network: network mode "mynet" not supported by'
     " buildkit"),
    ("shm_size: lots", r"service app: build.shm_size: invalid size"),
    ("ulimits: {nofile: {soft: 1}}", r"build.ulimits.nofile.hard is required"),
    ("ulimits: {nofile: many}", r"build.ulimits.nofile: not an integer"),
    ("ssh: [default]", r"service app: build.ssh: not supported"),
    ("platforms: [linux/amd64, linux/arm64]", r"build.platforms: multi-platform build is not"),
    ("platforms: [linux/s390x]", r"build.platforms: linux/s390x cannot be built"),
])
def test_what_the_builder_cannot_do_is_refused_naming_the_key(
    tmp_path: Path, build: str, message: str
) -> None:
    with pytest.raises(ComposeError, match=message):
        _options(tmp_path, f"context: .\n{build}")


def test_this_machines_platform_builds(tmp_path: Path) -> None:
    _options(tmp_path, f"context: .\nplatforms: [linux/{host_architecture()}]")


def test_cache_and_isolation_keys_are_warned_about_by_name(tmp_path: Path) -> None:
    project = _project(tmp_path, """services:
  app:
    build:
      context: .
      cache_from: [type=registry,ref=example.invalid/app:cache]
      cache_to: [type=inline]
      isolation: hyperv
  quiet:
    build: {context: ., isolation: default}
""")
    warnings = build_key_warnings(project.services["app"],
                                  build_section(project.services["app"]) or {})
    assert [w.split(" (")[0] for w in warnings] == [
        'service "app": build.cache_from', 'service "app": build.cache_to',
        'service "app": build.isolation',
    ]
    assert all(w.endswith("is ignored") for w in warnings)
    assert build_key_warnings(project.services["quiet"],
                              build_section(project.services["quiet"]) or {}) == []


def test_config_shows_context_directories_absolute_and_the_list_form_as_a_mapping(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path, """services:
  app:
    build:
      context: .
      additional_contexts: [assets=./shared, bb=docker-image://busybox, b=service:base]
  base: {image: base:1}
""")
    assert (build_section(project.services["app"]) or {})["additional_contexts"] == {
        "assets": str(tmp_path / "shared"), "bb": "docker-image://busybox", "b": "service:base",
    }
