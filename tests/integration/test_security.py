"""Isolation and security as the process inside the container observes it: capabilities,
no_new_privs, seccomp, masked and read-only paths, users and groups."""

from __future__ import annotations

import os

import pytest

from engine.api import Engine
from engine.capabilities import DOCKER_DEFAULT, mask
from engine.errors import InvalidArgumentError
from tests.integration.runtime_helpers import run_to_exit, sh, status_field

CAPS = "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status"


def test_default_capabilities_are_dockers_set(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh("caps", CAPS))
    assert code == 0, out
    docker_mask = f"{mask(DOCKER_DEFAULT):016x}"
    assert docker_mask == "00000000a80425fb"
    assert status_field(out, "CapEff") == docker_mask
    assert status_field(out, "CapPrm") == docker_mask
    assert status_field(out, "CapBnd") == docker_mask
    assert status_field(out, "CapInh") == "0000000000000000"
    assert status_field(out, "CapAmb") == "0000000000000000"
    assert status_field(out, "Seccomp") == "2"  # filter mode
    assert status_field(out, "NoNewPrivs") == "0"


def test_mount_and_unshare_are_refused_with_eperm(engine_with_busybox: Engine) -> None:
    script = (
        "mkdir -p /mnt; mount -t tmpfs none /mnt; echo mount=$?; "
        "unshare -n true; echo unshare=$?; "
        "touch /tmp/x; chown 1:1 /tmp/x; echo chown=$?"
    )
    code, out = run_to_exit(engine_with_busybox, sh("eperm", script))
    assert code == 0, out
    assert "mount=0" not in out and "mount=" in out
    assert "permission denied" in out.lower() or "not permitted" in out.lower()
    assert "unshare=0" not in out
    assert "Operation not permitted" in out  # unshare's message: EPERM from seccomp / no caps
    assert "chown=0" in out  # CAP_CHOWN is in the default set


def test_cap_drop_all_and_cap_add(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox,
        sh("capdrop", CAPS + "; touch /tmp/x; chown 1:1 /tmp/x; echo chown=$?",
           cap_drop=("ALL",), cap_add=("NET_ADMIN",)),
    )
    assert code == 0, out
    assert status_field(out, "CapEff") == f"{1 << 12:016x}"  # only NET_ADMIN
    assert "chown=1" in out


def test_cap_add_sys_admin_allows_mount(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox,
        sh("sysadmin", "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted",
           cap_add=("SYS_ADMIN",)),
    )
    assert code == 0, out
    assert "mounted" in out


def test_privileged_gets_every_capability_the_engine_holds(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh("priv", CAPS, privileged=True))
    assert code == 0, out
    with open("/proc/self/status", encoding="ascii") as handle:
        ours = status_field(handle.read(), "CapBnd")
    assert status_field(out, "CapEff") == ours
    assert status_field(out, "Seccomp") == "0"


def test_no_new_privileges(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("nnp", CAPS, security_opt=("no-new-privileges:true",))
    )
    assert code == 0, out
    assert status_field(out, "NoNewPrivs") == "1"


def test_seccomp_unconfined(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("unconf", CAPS, security_opt=("seccomp=unconfined",))
    )
    assert code == 0, out
    assert status_field(out, "Seccomp") == "0"


def test_seccomp_is_what_refuses_user_namespaces(engine_with_busybox: Engine) -> None:
    """Creating a user namespace needs no capability at all: only the seccomp profile stops
    it (Docker's clone/unshare namespace-flag rules). Unconfined, the same call succeeds."""
    script = "unshare -U true; echo userns=$?"
    code, out = run_to_exit(engine_with_busybox, sh("userns", script))
    assert code == 0, out
    assert "userns=1" in out and "Operation not permitted" in out
    code, out = run_to_exit(
        engine_with_busybox, sh("userns-unconf", script, security_opt=("seccomp:unconfined",))
    )
    assert code == 0, out
    assert "userns=0" in out


def test_proc_keys_is_masked(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox, sh("keys", "wc -c < /proc/keys; echo done")
    )
    assert code == 0, out
    assert out.split() == ["0", "done"]


def test_masked_and_read_only_paths(engine_with_busybox: Engine) -> None:
    script = (
        "echo 1 > /proc/sys/kernel/shmmax; echo sys=$?; "
        "cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; "
        "if [ -e /proc/sysrq-trigger ]; then echo h > /proc/sysrq-trigger; echo sysrq=$?; fi; "
        "touch /sys/kernel/x; echo sysfs=$?"
    )
    code, out = run_to_exit(engine_with_busybox, sh("masked", script))
    assert code == 0, out
    lines = out.split("\n")
    assert "sys=1" in out and "Read-only file system" in out
    assert "0" in [line.strip() for line in lines]  # timer_list reads empty
    assert "sysrq=0" not in out
    assert "sysfs=1" in out
    host_has_timer_list = os.path.exists("/proc/timer_list")
    assert host_has_timer_list  # the masking above proved something only if the host has it


def test_user_by_name_and_group_add(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(
        engine_with_busybox,
        sh("usr", "id -u; id -g; id -G; " + CAPS, user="nobody", group_add=("root", "4242")),
    )
    assert code == 0, out
    lines = out.split("\n")
    assert lines[0] == "65534" and lines[1] == "65534"
    assert set(lines[2].split()) == {"65534", "0", "4242"}
    assert status_field(out, "CapEff") == "0000000000000000"
    assert status_field(out, "CapBnd") == "00000000a80425fb"


def test_uid_gid_numbers(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh("ids", "id -u; id -g", user="1234:5678"))
    assert code == 0, out
    assert out.split() == ["1234", "5678"]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"cap_add": ("NOT_A_CAP",)}, "cap_add"),
        ({"user": "nosuchuser"}, "unable to find user"),
        ({"group_add": ("nosuchgroup",)}, "group_add"),
        ({"security_opt": ("seccomp=/etc/profile.json",)}, "security_opt"),
        ({"sysctls": {"kernel.pid_max": "100"}}, "sysctls"),
        ({"ulimits": {"nofile": (10, 10**9)}}, "CAP_SYS_RESOURCE"),
        ({"devices": ("/dev/does-not-exist",)}, "devices"),
        ({"restart_policy": "sometimes"}, "restart"),
    ],
)
def test_bad_input_is_refused_before_anything_starts(
    engine_with_busybox: Engine, extra: dict[str, object], key: str
) -> None:
    """What the spec and the host tell is refused at create, as Docker's create refuses it
    (no container is made); what needs the image or the devices, at start (nothing runs)."""
    engine = engine_with_busybox
    if key in {"cap_add", "security_opt", "sysctls", "CAP_SYS_RESOURCE", "restart"}:
        with pytest.raises(InvalidArgumentError) as caught:
            engine.create_container(sh("bad", "true", **extra))
        assert engine.find_container("bad") is None
    else:
        info = engine.create_container(sh("bad", "true", **extra))
        with pytest.raises(InvalidArgumentError) as caught:
            engine.start_container(info.id)
        assert engine.inspect(info.id).state.supervisor_pid is None
    assert key in str(caught.value)
    assert "bad" in str(caught.value)


def test_pid_host_and_ipc_modes(engine_with_busybox: Engine) -> None:
    import os as _os

    engine = engine_with_busybox
    code, out = run_to_exit(engine, sh("pidhost", "echo pid=$$; test -d /proc/1 && echo has1",
                                       pid_mode="host"))
    assert code == 0, out
    assert "pid=1\n" not in out and "has1" in out
    host_ipc = _os.readlink("/proc/self/ns/ipc")
    code, out = run_to_exit(engine, sh("ipchost", "readlink /proc/self/ns/ipc", ipc_mode="host"))
    assert out.strip() == host_ipc
    owner = engine.create_container(sh("ipcowner", "readlink /proc/self/ns/ipc; sleep 30"))
    engine.start_container(owner.id)
    try:
        code, out = run_to_exit(engine, sh("ipcjoin", "readlink /proc/self/ns/ipc",
                                           ipc_mode="container:ipcowner"))
        assert code == 0
        own = "".join(line.text for line in engine.logs(owner.id)).strip()
        assert out.strip() == own != host_ipc
    finally:
        engine.stop_container(owner.id, timeout=0)
    info = engine.create_container(sh("ipcbad", "true", ipc_mode="container:ipcowner"))
    with pytest.raises(InvalidArgumentError, match="ipc: container ipcowner is not running"):
        engine.start_container(info.id)


def test_init_and_its_command_are_confined_alike(engine_with_busybox: Engine) -> None:
    """With `init: true`, init confines itself (bounding set, no_new_privs, seccomp) before it
    forks the command, which inherits all of it: both must show the same restrictions as a
    container without init, and a non-root user must still get no capabilities."""
    both = (
        CAPS + "; echo ---; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/1/status; "
        "mount -t tmpfs x /mnt; echo mount=$?"
    )
    code, out = run_to_exit(engine_with_busybox, sh(
        "initcaps", both, init=True, security_opt=("no-new-privileges:true",)
    ))
    assert code == 0, out
    command, _, init = out.partition("---")
    docker_mask = f"{mask(DOCKER_DEFAULT):016x}"
    for seen in (command, init):
        assert status_field(seen, "CapBnd") == docker_mask, out
        assert status_field(seen, "CapEff") == docker_mask, out
        assert status_field(seen, "Seccomp") == "2", out
        assert status_field(seen, "NoNewPrivs") == "1", out
    assert "mount=0" not in out  # the inherited filter (and caps) still refuse mount
    code, out = run_to_exit(engine_with_busybox, sh("initusr", CAPS, init=True, user="nobody"))
    assert code == 0, out
    assert status_field(out, "CapEff") == "0000000000000000"
    assert status_field(out, "Seccomp") == "2"


def _host_device(path: str) -> str:
    """`major:minor mode uid:gid` of a host device node, as the script below prints it."""
    info = os.lstat(path)
    return (f"{os.major(info.st_rdev):x}:{os.minor(info.st_rdev):x} "
            f"{info.st_mode & 0o7777:o} {info.st_uid}:{info.st_gid}")


# Host device nodes Docker's default set leaves out (present on this machine and on CI's).
HOST_ONLY_DEVICES = [
    path for path in ("/dev/loop-control", "/dev/kmsg", "/dev/net/tun", "/dev/cpu/0/cpuid")
    if os.path.exists(path)
]
DEVICE_SCRIPT = (
    "for d in " + " ".join(HOST_ONLY_DEVICES) + "; do "
    "if [ -e $d ]; then echo \"$d $(stat -c '%t:%T %a %u:%g' $d)\"; else echo \"$d absent\"; "
    "fi; done; "
    # Opening needs the devices cgroup's leave: mknod alone is allowed to everyone.
    # (its error to /dev/null: on stderr, it could come after the lines below in the log)
    "mknod /tmp/lc c 10 237 && { ( : < /tmp/lc ) 2>/dev/null; echo open=$?; }; "
    "grep -E ' /sys (sysfs|cgroup)' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1; "
    "wc -c < /proc/timer_list"
)


def test_privileged_has_the_hosts_devices_and_an_unmasked_view(engine_with_busybox: Engine) -> None:
    """Docker's `privileged`: a node for every host device (type, numbers, mode, owner), the
    devices cgroup allowing all, /sys read-write, no masked paths."""
    assert HOST_ONLY_DEVICES, "this machine has none of the devices the test looks for"
    code, out = run_to_exit(engine_with_busybox, sh("privdev", DEVICE_SCRIPT, privileged=True))
    assert code == 0, out
    for path in HOST_ONLY_DEVICES:
        assert f"{path} {_host_device(path)}" in out.splitlines(), out
    assert "open=0" in out
    assert "/sys rw" in out.splitlines()
    assert int(out.split()[-1]) > 0  # /proc/timer_list readable, not masked


def test_unprivileged_has_only_the_default_devices(engine_with_busybox: Engine) -> None:
    code, out = run_to_exit(engine_with_busybox, sh("nodev", DEVICE_SCRIPT))
    assert code == 0, out
    for path in HOST_ONLY_DEVICES:
        assert f"{path} absent" in out.splitlines(), out
    assert "open=0" not in out and "open=1" in out
    assert "/sys ro" in out.splitlines()
    assert out.split()[-1] == "0"
