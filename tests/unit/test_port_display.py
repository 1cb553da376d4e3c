"""`ps`'s PORTS column as docker's DisplayablePorts writes it (checked against its rules:
ranges grouped, other-number mappings last, IPv6 in brackets, addressless ports bare)."""

from __future__ import annotations

import pytest

from compose.cli.port_display import displayable_ports


@pytest.mark.parametrize(("ports", "expected"), [
    ([], ""),
    ([("0.0.0.0", 8080, 80, "tcp"), ("::", 8080, 80, "tcp")],
     "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"),
    ([("::", 9000, 9000, "tcp"), ("0.0.0.0", 9000, 9000, "tcp")],
     "0.0.0.0:9000->9000/tcp, [::]:9000->9000/tcp"),
    ([("0.0.0.0", 8001, 8001, "tcp"), ("0.0.0.0", 8000, 8000, "tcp")],
     "0.0.0.0:8000-8001->8000-8001/tcp"),
    # same-number ports grouped first, then the mappings to other numbers
    ([("0.0.0.0", 8080, 80, "tcp"), ("0.0.0.0", 9000, 9000, "tcp")],
     "0.0.0.0:9000->9000/tcp, 0.0.0.0:8080->80/tcp"),
    # a gap ends a range: the finished one comes first, the key's last range at its place
    ([("0.0.0.0", p, p, "tcp") for p in (1, 2, 5)] + [("0.0.0.0", 53, 53, "udp")],
     "0.0.0.0:1-2->1-2/tcp, 0.0.0.0:5->5/tcp, 0.0.0.0:53->53/udp"),
    ([("", 0, 80, "tcp"), ("", 0, 81, "tcp"), ("127.0.0.1", 5000, 5000, "udp")],
     "80-81/tcp, 127.0.0.1:5000->5000/udp"),
    ([("10.0.0.2", 80, 80, "tcp"), ("9.0.0.1", 80, 80, "tcp")],  # by address bytes
     "9.0.0.1:80->80/tcp, 10.0.0.2:80->80/tcp"),
])
def test_ports_as_docker_ps_shows_them(
    ports: list[tuple[str, int, int, str]], expected: str
) -> None:
    assert displayable_ports(ports) == expected
