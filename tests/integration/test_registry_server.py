"""A real distribution registry (Debian's ``docker-registry``) on loopback for tests and bench.

``RegistryServer`` starts ``/usr/bin/docker-registry serve`` on 127.0.0.1 with a private storage
dir (optionally htpasswd auth), waits until ``/v2/`` answers and stops it on ``close``.
The tests at the bottom check the helper itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

import pytest
import requests

REGISTRY_BIN = "/usr/bin/docker-registry"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RegistryServer:
    def __init__(
        self, workdir: Path, users: dict[str, str] | None = None, tls: bool = False
    ) -> None:
        if not os.path.exists(REGISTRY_BIN):
            pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.storage = workdir / "storage"
        self.port = _free_port()
        self.domain = f"127.0.0.1:{self.port}"
        auth = ""
        if users:
            htpasswd = workdir / "htpasswd"
            lines = []
            for user, password in users.items():
                out = subprocess.run(
                    ["htpasswd", "-nbB", user, password], capture_output=True, text=True,
                    check=True,
                )
                lines.append(out.stdout.strip())
            htpasswd.write_text("\n".join(lines) + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: test-realm\n    path: {htpasswd}\n"
        tls_config = ""
        self.ca_file: Path | None = None
        if tls:
            # A self-signed certificate for 127.0.0.1 (it is its own CA).
            cert, key = workdir / "cert.pem", workdir / "key.pem"
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                 "-keyout", str(key), "-out", str(cert)],
                check=True, capture_output=True,
            )
            self.ca_file = cert
            tls_config = f"  tls:\n    certificate: {cert}\n    key: {key}\n"
        config = workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
            + tls_config
            + auth
        )
        self.log = open(workdir / "registry.log", "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.close()
                raise RuntimeError(f"registry exited: {(workdir / 'registry.log').read_text()}")
            try:
                scheme = "https" if tls else "http"
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # unverified probe of our own server
                    requests.get(f"{scheme}://{self.domain}/v2/", timeout=1, verify=False)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("registry did not start within 20s")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def wipe(self) -> None:
        shutil.rmtree(self.storage, ignore_errors=True)


def test_registry_server_answers(tmp_path: Path) -> None:
    server = RegistryServer(tmp_path / "reg")
    try:
        response = requests.get(f"http://{server.domain}/v2/", timeout=5)
        assert response.status_code == 200
    finally:
        server.close()
    assert server.process.returncode is not None


def test_registry_server_with_auth_demands_login(tmp_path: Path) -> None:
    server = RegistryServer(tmp_path / "reg", users={"alice": "s3cret"})
    try:
        response = requests.get(f"http://{server.domain}/v2/", timeout=5)
        assert response.status_code == 401
        assert "Basic" in response.headers["WWW-Authenticate"]
        ok = requests.get(f"http://{server.domain}/v2/", auth=("alice", "s3cret"), timeout=5)
        assert ok.status_code == 200
    finally:
        server.close()
