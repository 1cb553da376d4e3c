"""A published port reaches its container even when a forwarding rule for that host port was
left behind by a container that is gone without cleaning up (its data root deleted while it
ran): the port was free to bind, so the old rule is dropped, not kept in front of the new one
silently taking the traffic."""

from __future__ import annotations

import contextlib
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from netdriver import firewall
from tests.e2e.cli_project import Project, project_on_private_root, wait_for

STALE_OWNER = "0" * 63 + "1"


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    yield from project_on_private_root(tmp_path, busybox_tarball, "sp")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fetch(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def _serve(project: Project, port: int) -> None:
    """A web server published on 127.0.0.1:`port`, up and answering."""
    project.write(
        "services:\n  web:\n    image: busybox\n"
        '    command: ["sh", "-c", "echo served > /var/www/index.html;'
        ' exec httpd -f -p 80 -h /var/www"]\n'
        f'    ports: ["127.0.0.1:{port}:80"]\n'
    )
    project.cli("up", "-d")
    assert wait_for(lambda: _fetch(port) == "served\n", timeout=10)


def test_a_rule_left_for_the_port_does_not_take_its_traffic(project: Project) -> None:
    port = _free_port()
    # What a vanished owner left: the port forwarded to a loopback port nothing listens on.
    firewall.add_port_rules(STALE_OWNER, [firewall.PortRule("tcp", "", port, "127.0.0.1", 9)])
    try:
        _serve(project, port)
        assert STALE_OWNER not in firewall.port_owners()
    finally:
        with contextlib.suppress(Exception):
            firewall.remove_port_rules(STALE_OWNER)


def test_a_rule_forwarding_to_a_vanished_network_is_dropped_at_the_next_publish(
    project: Project,
) -> None:
    """A forwarding rule whose container address is in none of the host's networks (its
    bridge went with a deleted data root) forwards to nowhere and takes the port from any host
    process: the next container that publishes a port drops it. No traffic is sent to it."""
    stale_port, port = _free_port(), _free_port()
    nowhere = "198.51.100.7"  # TEST-NET-2: never a network of this host
    firewall.add_port_rules(STALE_OWNER, [firewall.PortRule("tcp", "", stale_port, nowhere, 80)])
    try:
        assert STALE_OWNER in firewall.port_owners()
        _serve(project, port)
        assert STALE_OWNER not in firewall.port_owners()
    finally:
        with contextlib.suppress(Exception):
            firewall.remove_port_rules(STALE_OWNER)
