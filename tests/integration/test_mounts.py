"""Mounts as the container sees them: tmpfs with size and mode, a read-only root with writable
mounts, read-only binds, /dev like Docker's."""

from __future__ import annotations

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
