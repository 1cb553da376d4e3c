"""Top-level volume driver_opts (local driver) are load errors naming file, line and key, as
Docker's local driver would refuse them at `up` (invalid option, missing required option), plus
what the engine could only refuse when the first container starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.volume_options import known_type


def _load(tmp_path: Path, volumes: str) -> Project:
    text = "services:\n  app:\n    image: busybox\n    volumes: [data:/data]\nvolumes:\n"
    (tmp_path / "compose.yaml").write_text(text + volumes)
    return load_project(LoadOptions(cwd=tmp_path, project_name="t"))


def _problems(tmp_path: Path, volumes: str) -> list[tuple[str | None, int | None, str]]:
    with pytest.raises(ComposeFileError) as info:
        _load(tmp_path, volumes)
    problems = info.value.problems
    assert all(p.file == str(tmp_path / "compose.yaml") for p in problems)
    return [(p.key, p.line, p.message) for p in problems]


def test_good_options_reach_the_model(tmp_path: Path) -> None:
    project = _load(tmp_path, """  data:
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=8m,uid=1000"}
  other:
    driver_opts: {type: none, o: bind, device: /srv/data}
  plain: {}
""")
    assert project.volumes["data"].driver_opts == {"type": "tmpfs", "device": "tmpfs",
                                                   "o": "size=8m,uid=1000"}
    assert project.volumes["other"].driver_opts["device"] == "/srv/data"


def test_numbers_are_options_too(tmp_path: Path) -> None:
    project = _load(tmp_path, "  data:\n    driver_opts: {type: tmpfs, device: tmpfs, o: 1}\n")
    assert project.volumes["data"].driver_opts["o"] == "1"


def test_relative_bind_device_of_the_local_driver_is_made_absolute(tmp_path: Path) -> None:
    # as compose-go resolves it: explicit `driver: local` and `o: bind`
    project = _load(tmp_path, """  data:
    driver: local
    driver_opts: {type: none, o: bind, device: ./store}
""")
    assert project.volumes["data"].driver_opts["device"] == str(tmp_path / "store")


def test_unknown_type_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """  data:
    driver_opts:
      type: tmpfz
      device: tmpfs
""")
    assert problems == [(
        "volumes.data.driver_opts.type", 8,
        "volume data: driver_opts type 'tmpfz' is not a filesystem type this host can mount "
        "(e.g. tmpfs, or none with o: bind)",
    )]


def test_bind_without_device_and_other_missing_options(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """  data:
    driver_opts:
      type: none
      o: bind
""")
    assert [(k, line) for k, line, _ in problems] == [("volumes.data.driver_opts.type", 8)]
    assert 'missing required option: "device"' in problems[0][2]
    problems = _problems(tmp_path, "  data:\n    driver_opts: {o: bind, device: /srv}\n")
    assert [(k, m.split(": ", 1)[1]) for k, _, m in problems] == [(
        "volumes.data.driver_opts.device",
        'missing required option: "type" (the local driver needs type with device)',
    )]


def test_non_string_values_unknown_keys_and_size(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """  data:
    driver_opts:
      type: tmpfs
      device: tmpfs
      o: [size=1m]
      mode: "0755"
      size: 10m
""")
    assert problems == [
        ("volumes.data.driver_opts.o", 10,
         "volume data: driver_opts o must be a string or a number, not a list"),
        ("volumes.data.driver_opts.mode", 11,
         'volume data: invalid option: "mode" (the local driver takes type, device and o)'),
        ("volumes.data.driver_opts.size", 12,
         "volume data: driver_opts size needs quota support, which the local driver of "
         "pycompose does not have"),
    ]


def test_type_none_needs_bind_and_bind_needs_an_absolute_device(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """  data:
    driver_opts: {type: none, device: /srv, o: ro}
  logs:
    driver_opts: {type: none, device: "relative/dir", o: bind}
""")
    assert [(k, m) for k, _, m in problems] == [
        ("volumes.data.driver_opts.o", "volume data: driver_opts type none needs o: bind"),
        ("volumes.logs.driver_opts.device", "volume logs: driver_opts o: bind needs device to "
         "be an absolute host path, not 'relative/dir'"),
    ]


def test_other_drivers_and_external_volumes_are_left_alone(tmp_path: Path) -> None:
    project = _load(tmp_path, """  data:
    driver: rexray
    driver_opts: {size: 10, anything: goes}
  ext:
    external: true
""")
    assert project.volumes["data"].driver_opts == {"size": "10", "anything": "goes"}


def test_known_types() -> None:
    assert known_type("tmpfs") and known_type("nfs") and known_type("fuse.sshfs")
    assert not known_type("tmpfz") and not known_type("fuse.")
