"""Tests against a real, running stack: `compose_stack` starts compose.yaml (busybox httpd and
a client) before the first test of this module and removes it after the last one.

Run:  pytest examples/pytest       (needs root and the busybox image: see the README,
      section "Stacks as test fixtures: Python API and pytest plugin")
"""

from __future__ import annotations

import http.client

import pytest

from compose import Stack

pytestmark = pytest.mark.compose("compose.yaml")


def get(host: str, port: int, path: str = "/") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_web_serves_the_page_on_its_bridge_address(compose_stack: Stack) -> None:
    web = compose_stack.service("web")
    web.wait_for_port(8080, timeout=30)
    assert get(web.ip, 8080) == (200, b"hello from web\n")


def test_web_is_published_on_a_host_port(compose_stack: Stack) -> None:
    port = compose_stack.service("web").port(8080)
    assert get("127.0.0.1", port) == (200, b"hello from web\n")


def test_client_reaches_web_by_service_name(compose_stack: Stack) -> None:
    line = compose_stack.service("client").wait_for_log(r"client got: ", timeout=30)
    assert line.strip() == "client got: hello from web"


def test_exec_runs_inside_the_service(compose_stack: Stack) -> None:
    code, output = compose_stack.service("web").exec(["cat", "/www/index.html"])
    assert (code, output) == (0, "hello from web\n")
    code, _ = compose_stack.service("web").exec(["test", "-e", "/no/such/file"])
    assert code == 1


def test_logs_show_the_request(compose_stack: Stack) -> None:
    compose_stack.service("client").wait_for_log(r"client got: ", timeout=30)
    assert "response:200" in compose_stack.service("web").logs()
