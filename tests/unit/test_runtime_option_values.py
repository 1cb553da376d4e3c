"""Values checked before anything is made (engine.runtime_options): tmpfs options as Docker
reads them, cpuset lists against the host's CPUs, sysctls against the namespaces."""

from __future__ import annotations

import pytest

from engine import runtime_options
from engine import syscalls as sc
from engine.containers import ContainerSpec
from engine.errors import InvalidArgumentError
from engine.runtime_options import check_cpuset, check_sysctls, parse_cpu_list, tmpfs_mount


def _spec(**extra: object) -> ContainerSpec:
    return ContainerSpec(name="c", image="busybox", **extra)  # type: ignore[arg-type]


def test_tmpfs_flag_words_are_mount_flags_over_dockers_defaults() -> None:
    plain = tmpfs_mount(_spec(tmpfs={"/t": ""}), "/t")
    assert plain.flags == sc.MS_NOEXEC | sc.MS_NOSUID | sc.MS_NODEV
    assert plain.options == "mode=1777"
    mount = tmpfs_mount(_spec(tmpfs={"/t": "rw,exec,nosuid,size=64m,rprivate,mode=700"}), "/t")
    assert mount.flags == sc.MS_NOSUID | sc.MS_NODEV
    assert mount.options == "size=64m,mode=700"
    read_only = tmpfs_mount(_spec(mount_options={"/m": "size=1048576"}), "/m", read_only=True)
    assert read_only.flags & sc.MS_RDONLY and read_only.options == "size=1048576,mode=1777"
    assert tmpfs_mount(_spec(tmpfs={"/t": "ro,rw"}), "/t").flags & sc.MS_RDONLY == 0


@pytest.mark.parametrize(
    "options",
    ["size=10%", "size=0x100000", "size=12K", "nr_inodes=1k", "uid=1000,gid=1000", "mode=0755",
     "mpol=interleave", "noatime,nodiratime,sync,dirsync"],
)
def test_tmpfs_values_the_kernel_takes_pass(options: str) -> None:
    tmpfs_mount(_spec(tmpfs={"/t": options}), "/t")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("size=-5", "invalid size '-5'"),
        ("size=abc", "invalid size 'abc'"),
        ("size=1.5g", "invalid size '1.5g'"),
        ("nr_inodes=5%", "invalid nr_inodes '5%'"),
        ("mode=999", "invalid mode '999'"),
        ("uid=root", "invalid uid 'root'"),
        ("size", "invalid tmpfs option 'size'"),
        ("huge=always", "invalid tmpfs option 'huge'"),
    ],
)
def test_tmpfs_values_the_kernel_refuses_are_named(options: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        tmpfs_mount(_spec(tmpfs={"/t": options}), "/t")
    assert str(caught.value).startswith("container c: tmpfs: /t: " + message)


def test_cpu_lists_as_docker_parses_them() -> None:
    assert parse_cpu_list("0-2,4") == {0, 1, 2, 4}
    assert parse_cpu_list("3") == {3}
    assert parse_cpu_list("") == set()
    for bad in ("1-0", "a", "1,,2", "-1", "1-", "0 1"):
        assert parse_cpu_list(bad) is None, bad


def test_cpuset_must_be_among_the_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_options, "available_cpuset",
                        lambda kind: "0-3" if kind == "cpus" else "0")
    check_cpuset(_spec(cpuset_cpus="1-3", cpuset_mems="0"))
    with pytest.raises(InvalidArgumentError, match="cpuset: requested CPUs are not available "
                       "- requested 2-4, available: 0-3"):
        check_cpuset(_spec(cpuset_cpus="2-4"))
    with pytest.raises(InvalidArgumentError, match="cpuset_mems: requested memory nodes are "
                       "not available - requested 1, available: 0"):
        check_cpuset(_spec(cpuset_mems="1"))
    with pytest.raises(InvalidArgumentError, match="cpuset: invalid value 'x'"):
        check_cpuset(_spec(cpuset_cpus="x"))
    monkeypatch.setattr(runtime_options, "available_cpuset", lambda kind: None)
    check_cpuset(_spec(cpuset_cpus="63"))  # the host does not say: the kernel will


def test_sysctls_need_a_namespace_of_the_containers_own() -> None:
    assert check_sysctls(_spec(sysctls={"net.ipv4.ip_forward": "1"})) == {
        "net.ipv4.ip_forward": "1"}
    with pytest.raises(InvalidArgumentError, match=r"kernel\.pid_max is not a namespaced"):
        check_sysctls(_spec(sysctls={"kernel.pid_max": "100"}))
    with pytest.raises(InvalidArgumentError, match=r"kernel\.shmmax cannot be set with ipc: host"):
        check_sysctls(_spec(sysctls={"kernel.shmmax": "1"}, ipc_mode="host"))
    with pytest.raises(InvalidArgumentError, match=r"net\.ipv4\.ip_forward cannot be set "
                       "with network_mode: host"):
        check_sysctls(_spec(sysctls={"net.ipv4.ip_forward": "1"}, network_mode="host"))


def test_device_cgroup_rules_are_checked_and_follow_the_default_list() -> None:
    from engine.cgroups import DEFAULT_DEVICE_RULES
    from engine.device_filter_bpf import DeviceRule
    from engine.runtime_options import resources

    spec = _spec(device_cgroup_rules=("c 10:237 rwm", "b 8:* r", "a *:* m"))
    rules = resources(spec, ()).device_rules
    assert rules == (*DEFAULT_DEVICE_RULES, "c 10:237 rwm", "b 8:* r", "a *:* m")
    for rule in rules:  # the v2 device filter reads the same lines
        DeviceRule.parse(rule)
    privileged = _spec(device_cgroup_rules=("c 10:237 rwm",), privileged=True)
    assert resources(privileged, ()).device_rules == ()  # Docker: privileged allows all
    for bad in ("c 10:237", "x 1:1 r", "c 1:1 rwx", "c a:1 r", "c 1:1  r"):
        with pytest.raises(InvalidArgumentError, match="device_cgroup_rules: invalid device "
                           "cgroup rule format"):
            resources(_spec(device_cgroup_rules=(bad,)), ())


def test_mem_swappiness_range() -> None:
    from engine.runtime_options import resources

    assert resources(_spec(mem_swappiness=0), ()).memory_swappiness == 0
    assert resources(_spec(mem_swappiness=100), ()).memory_swappiness == 100
    with pytest.raises(InvalidArgumentError, match="valid memory swappiness range is 0-100"):
        resources(_spec(mem_swappiness=101), ())


def test_uts_and_cgroup_namespace_modes() -> None:
    from engine.runtime_options import namespace_sharing

    assert namespace_sharing(_spec()) == {
        "uts_mode": "private", "cgroupns_mode": "private", "cgroup_parent": None}
    assert namespace_sharing(_spec(uts_mode="host", cgroupns_mode="host",
                                   cgroup_parent="a")) == {
        "uts_mode": "host", "cgroupns_mode": "host", "cgroup_parent": "a"}
    with pytest.raises(InvalidArgumentError, match="c: hostname: conflicting options: "
                       "hostname and the UTS mode"):
        namespace_sharing(_spec(uts_mode="host", hostname="web"))
    with pytest.raises(InvalidArgumentError, match="domainname: conflicting options"):
        namespace_sharing(_spec(uts_mode="host", domainname="example.org"))
    with pytest.raises(InvalidArgumentError, match="uts: invalid UTS mode 'container:x'"):
        namespace_sharing(_spec(uts_mode="container:x"))
    with pytest.raises(InvalidArgumentError, match="cgroup: invalid cgroup namespace mode"):
        namespace_sharing(_spec(cgroupns_mode="shared"))


def test_host_uts_and_cgroup_namespaces_are_not_unshared() -> None:
    from engine.runtime import namespace_flags
    from engine.runtime_spec import ProcessSpec, RuntimeSpec

    def flags(**extra: object) -> int:
        return namespace_flags(RuntimeSpec(  # type: ignore[arg-type]
            "id", "h", (), "u", "w", "r", ProcessSpec(("true",), ()), "", "", "", "", **extra))

    default = flags()
    assert default & sc.CLONE_NEWUTS and default & sc.CLONE_NEWCGROUP
    assert not flags(uts_mode="host") & sc.CLONE_NEWUTS
    assert flags(uts_mode="host") & sc.CLONE_NEWCGROUP
    assert not flags(cgroupns_mode="host") & sc.CLONE_NEWCGROUP


def test_inspect_shows_the_keys_as_docker_does() -> None:
    from engine.containers import ContainerRecord, ContainerState
    from engine.inspect_document import container_document

    def host_config(spec: ContainerSpec) -> dict[str, object]:
        record = ContainerRecord("0" * 64, "c", "2024-01-01T00:00:00Z", "sha256:0", spec)
        document = container_document(record, ContainerState(), None, {})
        return document["HostConfig"]  # type: ignore[no-any-return]

    keys = ("MemorySwappiness", "CgroupParent", "DeviceCgroupRules", "UTSMode", "CgroupnsMode")
    plain = host_config(_spec())
    assert [plain[k] for k in keys] == [None, "", None, "", "private"]
    set_ = host_config(_spec(mem_swappiness=10, cgroup_parent="/apps", uts_mode="host",
                             device_cgroup_rules=("c 1:1 r",), cgroupns_mode="host"))
    assert [set_[k] for k in keys] == [10, "/apps", ["c 1:1 r"], "host", "host"]


def test_inspect_ports_as_docker_shows_them_while_running() -> None:
    """NetworkSettings.Ports: published ports with their bindings, exposed-only ones null
    (tools read `{{(index .NetworkSettings.Ports "80/tcp") 0).HostPort}}`); {} when stopped."""
    from engine.containers import ContainerRecord, ContainerState, ContainerStatus
    from engine.inspect_document import container_document
    from engine.ports import PortSpec, PublishedPort

    spec = _spec(ports=(PortSpec(80), PortSpec(53, "5353", protocol="udp"), PortSpec(9000)))
    record = ContainerRecord("0" * 64, "c", "2024-01-01T00:00:00Z", "sha256:0", spec)
    made = (PublishedPort("0.0.0.0", 32768, 80, "tcp"), PublishedPort("::", 32768, 80, "tcp"),
            PublishedPort("0.0.0.0", 5353, 53, "udp"))
    running = ContainerState(status=ContainerStatus.RUNNING, ports=made)
    ports = container_document(record, running, None, {})["NetworkSettings"]["Ports"]
    assert ports == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"},
                   {"HostIp": "::", "HostPort": "32768"}],
        "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
        "9000/tcp": None,
    }
    stopped = ContainerState(status=ContainerStatus.EXITED)
    assert container_document(record, stopped, None, {})["NetworkSettings"]["Ports"] == {}


def test_inspect_hostname_of_a_container_on_the_hosts_network_is_the_hosts() -> None:
    import os

    from engine.containers import ContainerRecord, ContainerState
    from engine.inspect_document import container_document

    record = ContainerRecord("0" * 64, "c", "2024-01-01T00:00:00Z", "sha256:0",
                             _spec(network_mode="host"))
    document = container_document(record, ContainerState(), None, {})
    assert document["Config"]["Hostname"] == os.uname().nodename
