"""Mounts as the container sees them: tmpfs with size and mode, a read-only root with writable
mounts, read-only binds, /dev like Docker's."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.api import Engine, MountKind, MountSpec
from tests.integration.runtime_helpers import run_to_exit, sh


def test_tmpfs_size_and_mode(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox,
        sh("tmpfs", "grep ' /run ' /proc/mounts; stat -c %a /run; df -k /run | tail -1",
           tmpfs={"/run": "size=4m,mode=0755"}),
    )
    assert code == 0, out
    lines = out.split("\n")
    assert lines[0].split()[2] == "tmpfs"
    assert "nosuid" in lines[0] and "nodev" in lines[0]
    assert lines[1] == "755"
    assert lines[2].split()[1] == "4096"


def test_read_only_root_with_writable_mounts(engine_with_busybox: Engine) -> None:
    script = (
        "touch /etc/x; echo root=$?; touch /data/x; echo volume=$?; touch /scratch/x; "
        "echo tmpfs=$?; touch /dev/shm/x; echo shm=$?"
    )
    code, out = run_to_exit(
        engine_with_busybox,
        sh("ro", script, read_only=True, tmpfs={"/scratch": ""},
           mounts=(MountSpec(MountKind.VOLUME, "/data", "ro-test-vol"),)),
    )
    assert code == 0, out
    assert "root=1" in out and "Read-only file system" in out
    assert "volume=0" in out and "tmpfs=0" in out and "shm=0" in out


def test_read_only_bind(engine_with_busybox: Engine, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("from host\n")
    code, out = run_to_exit(
        engine_with_busybox,
        sh("robind", "cat /in/hello.txt; touch /in/new; echo write=$?",
           mounts=(MountSpec(MountKind.BIND, "/in", str(tmp_path), read_only=True),)),
    )
    assert code == 0, out
    assert "from host" in out and "write=1" in out
    assert not (tmp_path / "new").exists()


def test_dev_looks_like_dockers(engine_with_busybox: Engine) -> None:
    script = (
        "for n in null zero full random urandom tty; do test -c /dev/$n && echo $n; done; "
        "for n in fd stdin stdout stderr ptmx; do test -L /dev/$n && echo $n; done; "
        "for n in pts shm mqueue; do test -d /dev/$n && echo $n; done; "
        "grep -E ' /dev/(pts|shm|mqueue) ' /proc/mounts | cut -d' ' -f3"
    )
    code, out = run_to_exit(engine_with_busybox, sh("dev", script))
    assert code == 0, out
    assert out.split() == [
        "null", "zero", "full", "random", "urandom", "tty",
        "fd", "stdin", "stdout", "stderr", "ptmx",
        "pts", "shm", "mqueue",
        "devpts", "tmpfs", "mqueue",
    ]


def test_sysctls_and_domainname_in_the_containers_namespaces(
    engine_with_busybox: Engine,
) -> None:
    code, out = run_to_exit(
        engine_with_busybox,
        sh("sysctl", "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward "
           "/proc/sys/kernel/domainname",
           sysctls={"kernel.shmmax": "123456789", "net.ipv4.ip_forward": "1"},
           domainname="example.test"),
    )
    assert code == 0, out
    assert out.split() == ["123456789", "1", "example.test"]
    with open("/proc/sys/kernel/shmmax", encoding="ascii") as handle:
        assert handle.read().strip() != "123456789"  # the host's value is untouched


def test_working_dir(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh("wd", "pwd", working_dir="/tmp"))
    assert code == 0 and out.strip() == "/tmp"


def test_missing_sysctl_fails_the_start_clearly(engine_with_busybox: Engine) -> None:
    import pytest

    from engine.cgroups import container_cgroup
    from engine.errors import ContainerStartError

    engine = engine_with_busybox
    info = engine.create_container(sh("nosysctl", "true", sysctls={"net.ipv4.no_such_knob": "1"}))
    with pytest.raises(ContainerStartError, match=r"sysctls: net\.ipv4\.no_such_knob"):
        engine.start_container(info.id)
    assert not any(path.exists() for path in container_cgroup(info.id).dirs())


# ---- named volumes with driver_opts (local driver), through the CLI ---------------------------
from tests.e2e.test_orchestration import Stack, root, stack  # noqa: E402, F401


def _mounted_at(path: Path) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        return any(line.split()[4] == str(path) for line in handle)


def _volume_dir(stack: Stack, key: str) -> Path:  # noqa: F811
    return stack.root / "volumes" / f"{stack.name}_{key}"


TMPFS_STACK = """
  cache:
    driver_opts:
      type: tmpfs
      device: tmpfs
      o: "size=8m,uid=1234,mode=0750"
"""


def test_tmpfs_volume_is_shared_by_the_stacks_containers(stack: Stack) -> None:  # noqa: F811
    service = """
image: busybox
command: ["sh", "-c", "echo from-$$(hostname) > /cache/$$(hostname); exec sleep 300"]
stop_grace_period: 0s
volumes: [cache:/cache]
"""
    stack.write({"one": service, "two": service}, "volumes:" + TMPFS_STACK)
    stack.ok("up", "-d")
    data = _volume_dir(stack, "cache") / "_data"
    assert _mounted_at(data)  # one tmpfs on the host, shared by both containers
    listing = ""
    for _attempt in range(100):  # bounded: both containers write their file at start
        listing = stack.ok("exec", "-T", "two", "sh", "-c", "cat /cache/*").stdout
        if len(listing.split()) == 2:
            break
        time.sleep(0.05)
    ids = stack.ids()
    assert sorted(listing.split()) == sorted(f"from-{i[:12]}" for i in ids.values())
    mount_line = stack.ok("exec", "-T", "one", "sh", "-c",
                          "grep ' /cache ' /proc/mounts; stat -c '%u %a' /cache").stdout
    assert " tmpfs " in mount_line and "size=8192k" in mount_line, mount_line
    assert mount_line.split("\n")[1] == "1234 750"
    inspected = json.loads(stack.ok("volume", "inspect", f"{stack.name}_cache").stdout)
    assert inspected[0]["Options"] == {"type": "tmpfs", "device": "tmpfs",
                                       "o": "size=8m,uid=1234,mode=0750"}
    stack.ok("stop", "one")
    assert _mounted_at(data)  # "two" still uses it
    stack.ok("stop")
    assert not _mounted_at(data)  # the last user stopped: unmounted
    stack.ok("down", "-v")
    assert not _volume_dir(stack, "cache").exists()


def test_bind_volume_writes_land_in_the_host_dir_and_survive_down(
    stack: Stack, tmp_path: Path  # noqa: F811
) -> None:
    host_dir = tmp_path / "host-data"
    host_dir.mkdir()
    service = """
image: busybox
command: ["sh", "-c", "cat /data/log 2>/dev/null; echo run >> /data/log"]
volumes: [data:/data]
"""
    extra = f"""
volumes:
  data:
    driver_opts: {{type: none, o: bind, device: "{host_dir}"}}
"""
    stack.write({"app": service}, extra)
    stack.ok("up")
    assert (host_dir / "log").read_text() == "run\n"
    assert not _mounted_at(_volume_dir(stack, "data") / "_data")  # bound directly, no host mount
    stack.ok("down")
    stack.ok("up")
    assert (host_dir / "log").read_text() == "run\nrun\n"
    stack.ok("down", "-v")
    assert not _volume_dir(stack, "data").exists()
    assert (host_dir / "log").read_text() == "run\nrun\n"  # removing the volume keeps the data


def test_bind_volume_with_a_missing_device_names_the_volume(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    missing = tmp_path / "not-there"
    stack.write(
        {"app": "image: busybox\ncommand: ['true']\nvolumes: [data:/data]\n"},
        f"volumes:\n  data:\n    driver_opts: {{type: none, o: bind, device: '{missing}'}}\n",
    )
    result = stack.cli("up", "-d")
    assert result.returncode != 0
    assert f"volume {stack.name}_data" in result.stderr and str(missing) in result.stderr
    assert "Traceback" not in result.stderr
    assert [s for s in stack.states().values() if s == "running"] == []


def test_bad_driver_opts_are_refused_naming_the_volume(engine_with_busybox: Engine) -> None:
    import pytest

    from engine.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="volume v1: invalid driver_opts key 'size'"):
        engine_with_busybox.ensure_volume("v1", options={"type": "tmpfs", "size": "1m"})
    with pytest.raises(InvalidArgumentError, match=r"volume v2: .*type none needs o: bind"):
        engine_with_busybox.ensure_volume("v2", options={"type": "none", "device": "/tmp"})
    assert engine_with_busybox.volumes.list() == []


def test_tmpfs_volume_is_unmounted_when_its_only_user_exits(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    volume = engine.ensure_volume("scratch", options={"type": "tmpfs", "device": "tmpfs"})
    mount = MountSpec(MountKind.VOLUME, "/scratch", "scratch")
    code, out = run_to_exit(
        engine, sh("oneshot", "grep -c ' /scratch tmpfs ' /proc/mounts; echo x > /scratch/f; "
                   "cat /scratch/f", mounts=(mount,)),
    )
    assert code == 0 and out.split() == ["1", "x"], out
    assert not _mounted_at(volume.mountpoint)  # the supervisor unmounted on exit
    code, out = run_to_exit(engine, sh("again", "ls /scratch | wc -l", mounts=(mount,)))
    assert out.strip() == "0"  # a tmpfs volume lives only while some container uses it
    engine.remove_container("oneshot")
    engine.remove_container("again")
    engine.remove_volume("scratch")


VOLUMES_FROM_STACK = {
    "producer": """
image: busybox
command: ["sh", "-c", "echo named > /named/f; echo anon > /anon/f; exec sleep 300"]
stop_grace_period: 0s
volumes: [named:/named, /anon]
""",
    "reader": """
image: busybox
command: ["sh", "-c", "exec sleep 300"]
stop_grace_period: 0s
volumes_from: ["producer:ro"]
depends_on: [producer]
""",
}


def test_volumes_from_shares_the_other_services_volumes(stack: Stack) -> None:  # noqa: F811
    stack.write(VOLUMES_FROM_STACK, "volumes:\n  named:\n")
    stack.ok("up", "-d")
    out = ""
    for _attempt in range(100):  # bounded: the producer writes its files at start
        out = stack.cli("exec", "-T", "reader", "sh", "-c",
                        "cat /named/f /anon/f; touch /named/g; echo write=$?").stdout
        if "anon" in out:
            break
        time.sleep(0.05)
    assert out.split("\n")[:2] == ["named", "anon"], out  # the same volumes, anonymous too
    assert "write=1" in out  # :ro


def test_bind_sources_are_created_or_refused_as_docker_does(stack: Stack) -> None:  # noqa: F811
    made, missing = stack.directory / "made-by-up", stack.directory / "missing"
    stack.write({"app": """
image: busybox
command: ["sh", "-c", "echo hi > /made/f"]
volumes:
  - ./made-by-up:/made
"""})
    stack.ok("up")
    assert (made / "f").read_text() == "hi\n"  # short syntax: the directory is created
    stack.write({"app": """
image: busybox
command: ["true"]
volumes:
  - ./made-by-up:/made
  - {type: bind, source: ./missing, target: /x, bind: {create_host_path: false}}
  - ./not-made-either:/y
"""})
    result = stack.cli("up", "-d")
    assert result.returncode != 0
    assert "service app" in result.stderr and "volumes" in result.stderr
    assert f"bind source path does not exist: {missing}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not missing.exists() and not (stack.directory / "not-made-either").exists()
    assert [s for s in stack.states().values() if s == "running"] == []


def test_long_syntax_tmpfs_size_and_mode(stack: Stack) -> None:  # noqa: F811
    stack.write({"app": """
image: busybox
command: ["sh", "-c", "stat -c %a /t; df -k /t | tail -1"]
volumes:
  - {type: tmpfs, target: /t, tmpfs: {size: 2m, mode: 0700}}
"""})
    stack.ok("up")
    out = stack.ok("logs", "--no-log-prefix", "app").stdout.split("\n")
    assert out[0].strip() == "700"
    assert out[1].split()[1] == "2048"


def test_a_dry_rm_v_keeps_an_anonymous_volume_another_container_mounts(
    engine_with_busybox: Engine,
) -> None:
    """`--dry-run rm -v` drops from its view what the real `rm -v` would remove: not an
    anonymous volume that another container (here as `volumes_from` mounts it) still uses."""
    from engine.anonymous_volumes import anonymous_volumes
    from engine.api import ContainerSpec, dry_run_engine

    engine = engine_with_busybox
    owner = engine.create_container(ContainerSpec(
        name="anon-owner", image="busybox", command=("true",), network_mode="none",
        mounts=(MountSpec(MountKind.VOLUME, "/anon"),),
    ))
    try:
        engine.start_container(owner.id)
        engine.wait_container(owner.id)
        [volume] = anonymous_volumes(engine.inspect(owner.id).record, engine.volumes)
        sharer = engine.create_container(ContainerSpec(
            name="anon-sharer", image="busybox", command=("true",), network_mode="none",
            mounts=(MountSpec(MountKind.VOLUME, "/anon", volume),),
        ))
        dry = dry_run_engine(engine)
        assert dry.remove_anonymous_volumes(engine.inspect(owner.id)) == []
        dry.remove_container(sharer.id)  # in the dry run's view only
        assert dry.remove_anonymous_volumes(engine.inspect(owner.id)) == [volume]
        assert engine.find_container(sharer.id) is not None and engine.volumes.find(volume)
    finally:
        for name in ("anon-sharer", "anon-owner"):
            if (info := engine.find_container(name)) is not None:
                engine.remove_container(info.id, force=True)
                engine.remove_anonymous_volumes(info)
