"""`container inspect`'s NetworkSettings.Networks: each network as Docker's EndpointSettings
shows it (scripts read `.Gateway`, `.IPPrefixLen`, `.MacAddress`, `.Aliases`, `.NetworkID`)."""

from __future__ import annotations

from engine.containers import (
    ContainerRecord,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    NetworkAttachment,
)
from engine.inspect_document import NetworkView, container_document
from netdriver.model import Endpoint, Network

CONTAINER_ID = "ab12cd34ef56" + "0" * 52
NETWORK = Network(id="f" * 64, name="p_default", bridge="pcbrx", subnet="172.19.0.0/16",
                  gateway="172.19.0.1", internal=False)
ENDPOINT = Endpoint(network="p_default", endpoint_id=CONTAINER_ID, ifname="eth0",
                    host_ifname="pcvx", ipv4="172.19.0.2", prefixlen=16, gateway="172.19.0.1",
                    mac="02:42:ac:13:00:02", names=("web", "db-alias", "p-web-1", "ab12cd34ef56"),
                    owner_pid=1)


def _record(*attachments: NetworkAttachment) -> ContainerRecord:
    spec = ContainerSpec(name="p-web-1", image="busybox", networks=attachments)
    return ContainerRecord(CONTAINER_ID, "p-web-1", "2024-01-01T00:00:00Z", "sha256:0", spec)


def _networks(record: ContainerRecord, state: ContainerState,
              views: dict[str, NetworkView]) -> dict[str, dict[str, object]]:
    document = container_document(record, state, None, {}, views)
    return document["NetworkSettings"]["Networks"]  # type: ignore[no-any-return]


def test_a_running_container_s_network_has_docker_s_endpoint_settings() -> None:
    record = _record(NetworkAttachment("p_default", ("web", "db-alias")))
    running = ContainerState(status=ContainerStatus.RUNNING, addresses={"p_default": "172.19.0.2"})
    entry = _networks(record, running, {"p_default": NetworkView(NETWORK, ENDPOINT)})["p_default"]
    assert list(entry) == [
        "IPAMConfig", "Links", "Aliases", "MacAddress", "DriverOpts", "GwPriority", "NetworkID",
        "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address",
        "GlobalIPv6PrefixLen", "DNSNames",
    ]
    assert entry["Aliases"] == ["p-web-1", "web", "db-alias"]  # as docker compose asks
    assert entry["DNSNames"] == ["p-web-1", "web", "db-alias", "ab12cd34ef56"]
    assert entry["Gateway"] == "172.19.0.1"
    assert entry["IPAddress"] == "172.19.0.2"
    assert entry["IPPrefixLen"] == 16
    assert entry["MacAddress"] == "02:42:ac:13:00:02"
    assert entry["NetworkID"] == "f" * 64
    endpoint_id = entry["EndpointID"]
    assert isinstance(endpoint_id, str) and len(endpoint_id) == 64 and endpoint_id != "f" * 64
    assert entry["IPAMConfig"] is None and entry["GlobalIPv6Address"] == ""


def test_a_custom_hostname_is_the_last_dns_name() -> None:
    """Docker's buildEndpointDNSNames: name, aliases, short id, then Config.Hostname, each
    once (its default, the short id, adds nothing)."""
    spec = ContainerSpec(name="p-web-1", image="busybox", hostname="db.local",
                         networks=(NetworkAttachment("p_default", ("web", "db.local")),))
    record = ContainerRecord(CONTAINER_ID, "p-web-1", "2024-01-01T00:00:00Z", "sha256:0", spec)
    running = ContainerState(status=ContainerStatus.RUNNING, addresses={"p_default": "172.19.0.2"})
    entry = _networks(record, running, {"p_default": NetworkView(NETWORK, ENDPOINT)})["p_default"]
    assert entry["DNSNames"] == ["p-web-1", "web", "db.local", "ab12cd34ef56"]
    spec = ContainerSpec(name="p-web-1", image="busybox", hostname="box",
                         networks=(NetworkAttachment("p_default", ("web",)),))
    record = ContainerRecord(CONTAINER_ID, "p-web-1", "2024-01-01T00:00:00Z", "sha256:0", spec)
    entry = _networks(record, running, {"p_default": NetworkView(NETWORK, ENDPOINT)})["p_default"]
    assert entry["DNSNames"] == ["p-web-1", "web", "ab12cd34ef56", "box"]


def test_a_stopped_container_keeps_its_networks_without_the_live_part() -> None:
    record = _record(NetworkAttachment("p_default", ("web",), ipv4="172.19.0.9",
                                       mac="02:42:AC:13:00:09"))
    stopped = ContainerState(status=ContainerStatus.EXITED)
    entry = _networks(record, stopped, {"p_default": NetworkView(NETWORK, None)})["p_default"]
    assert entry["NetworkID"] == "f" * 64
    assert entry["Aliases"] == ["p-web-1", "web"]
    assert (entry["EndpointID"], entry["Gateway"], entry["IPAddress"], entry["IPPrefixLen"]) == (
        "", "", "", 0)
    assert entry["MacAddress"] == "02:42:ac:13:00:09"  # configured: kept, as Docker's
    assert entry["IPAMConfig"] == {"IPv4Address": "172.19.0.9", "IPv6Address": ""}


def test_internal_networks_have_no_gateway_and_ipv6_shows_its_prefix() -> None:
    internal = Network(id="e" * 64, name="p_back", bridge="pcbry", subnet="10.5.0.0/24",
                       gateway="10.5.0.1", internal=True, subnet6="fd00:1::/64",
                       gateway6="fd00:1::1")
    dual = Endpoint(network="p_back", endpoint_id=CONTAINER_ID, ifname="eth1", host_ifname="v",
                    ipv4="10.5.0.2", prefixlen=24, gateway="10.5.0.1", mac="02:42:0a:05:00:02",
                    names=(), owner_pid=1, ipv6="fd00:1::2")
    record = _record(NetworkAttachment("p_back"))
    running = ContainerState(status=ContainerStatus.RUNNING, addresses={"p_back": "10.5.0.2"})
    entry = _networks(record, running, {"p_back": NetworkView(internal, dual)})["p_back"]
    assert (entry["Gateway"], entry["IPv6Gateway"]) == ("", "")
    assert (entry["GlobalIPv6Address"], entry["GlobalIPv6PrefixLen"]) == ("fd00:1::2", 64)
    routed = Network(**{**internal.__dict__, "internal": False})
    entry = _networks(record, running, {"p_back": NetworkView(routed, dual)})["p_back"]
    assert (entry["Gateway"], entry["IPv6Gateway"]) == ("10.5.0.1", "fd00:1::1")


def test_sandbox_key_is_the_running_container_s_netns_path() -> None:
    record = _record(NetworkAttachment("p_default"))
    running = ContainerState(status=ContainerStatus.RUNNING, pid=4242,
                             started_at="2024-01-01T00:00:01Z")
    settings = container_document(record, running, None, {})["NetworkSettings"]
    assert list(settings)[:2] == ["SandboxID", "SandboxKey"]
    assert settings["SandboxKey"] == "/proc/4242/ns/net"
    assert len(settings["SandboxID"]) == 64
    again = ContainerState(status=ContainerStatus.RUNNING, pid=4243,
                           started_at="2024-01-01T00:00:09Z")
    assert container_document(record, again, None, {})["NetworkSettings"]["SandboxID"] != (
        settings["SandboxID"])  # a new run, a new sandbox
    stopped = container_document(record, ContainerState(status=ContainerStatus.EXITED), None, {})
    assert (stopped["NetworkSettings"]["SandboxID"], stopped["NetworkSettings"]["SandboxKey"]) == (
        "", "")


def test_config_has_docker_s_exposed_ports_volumes_and_onbuild() -> None:
    from engine.images import Image, ImageConfig
    from engine.ports import PortSpec

    image = Image("sha256:" + "1" * 64, ("app:latest",), "sha256:" + "2" * 64, "", 0, (),
                  ImageConfig(exposed_ports=("443/tcp", "80"), volumes=("/data",)))
    spec = ContainerSpec(name="p-web-1", image="app", expose=("7000/udp",),
                         ports=(PortSpec(8080, "9000"),))
    record = ContainerRecord(CONTAINER_ID, "p-web-1", "2024-01-01T00:00:00Z", image.id, spec)
    config = container_document(record, ContainerState(), image, {})["Config"]
    assert config["ExposedPorts"] == {"443/tcp": {}, "7000/udp": {}, "80/tcp": {}, "8080/tcp": {}}
    assert list(config).index("ExposedPorts") == list(config).index("AttachStderr") + 1
    assert config["Volumes"] == {"/data": {}} and config["OnBuild"] is None
    bare = container_document(_record(), ContainerState(), None, {})["Config"]
    assert "ExposedPorts" not in bare and bare["Volumes"] is None  # omitempty / null, as Go's


def test_host_config_names_the_primary_network_and_the_requested_bindings() -> None:
    from engine.ports import PortSpec

    spec = ContainerSpec(name="p-web-1", image="busybox",
                         networks=(NetworkAttachment("p_front"), NetworkAttachment("p_back")),
                         ports=(PortSpec(80, "8080"), PortSpec(80, "8081", "127.0.0.1"),
                                PortSpec(53, None, None, "udp")))
    record = ContainerRecord(CONTAINER_ID, "p-web-1", "2024-01-01T00:00:00Z", "sha256:0", spec)
    host = container_document(record, ContainerState(), None, {})["HostConfig"]
    assert host["NetworkMode"] == "p_front"  # docker compose's: the primary network's name
    assert host["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8081"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
    }
    alone = ContainerSpec(name="c", image="busybox", network_mode="host")
    record = ContainerRecord(CONTAINER_ID, "c", "2024-01-01T00:00:00Z", "sha256:0", alone)
    host = container_document(record, ContainerState(), None, {})["HostConfig"]
    assert (host["NetworkMode"], host["PortBindings"]) == ("host", {})


def test_the_files_docker_names_come_after_the_image_in_its_order() -> None:
    files = {"ResolvConfPath": "/r", "HostnamePath": "/n", "HostsPath": "/h", "LogPath": "/l"}
    document = container_document(_record(), ContainerState(), None, {}, None, files)
    keys = list(document)
    assert keys[keys.index("Image") + 1:keys.index("Image") + 6] == [
        "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath", "Name",
    ]
    assert document["Platform"] == "linux"


def test_mount_points_have_docker_s_keys_mode_and_propagation() -> None:
    from engine.containers import MountKind, MountSpec

    spec = ContainerSpec(name="c", image="busybox", mounts=(
        MountSpec(MountKind.BIND, "/src", "/host/src", create_host_path=True),
        MountSpec(MountKind.BIND, "/ro", "/host/ro", read_only=True, propagation="rshared"),
        MountSpec(MountKind.VOLUME, "/data", "p_data"),
    ))
    record = ContainerRecord(CONTAINER_ID, "c", "2024-01-01T00:00:00Z", "sha256:0", spec)
    mounts = container_document(record, ContainerState(), None, {"p_data": "/v/p_data"})["Mounts"]
    assert mounts[0] == {"Type": "bind", "Source": "/host/src", "Destination": "/src",
                         "Mode": "rw", "RW": True, "Propagation": "rprivate"}
    ro = mounts[1]
    assert (ro["Mode"], ro["RW"], ro["Propagation"]) == ("ro", False, "rshared")
    assert list(mounts[2]) == ["Type", "Name", "Source", "Destination", "Driver", "Mode", "RW",
                               "Propagation"]
    assert (mounts[2]["Name"], mounts[2]["Source"], mounts[2]["Propagation"]) == (
        "p_data", "/v/p_data", "")
