"""Registry auth: challenge parsing, Docker's credential file, bearer-token handshake
(against a tiny token-protected HTTP server on loopback), platform selection."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.errors import NotFoundError
from engine.registry.auth import (
    Credentials,
    load_credentials,
    parse_challenge,
    remove_credentials,
    save_credentials,
)
from engine.registry.client import RegistryClient, is_loopback_registry
from engine.registry.errors import RegistryAuthError
from engine.registry.manifests import Platform, parse_platform, pick_platform


def test_parse_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="x"').scheme == "basic"


def test_credentials_file_round_trip(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {}, "psFormat": "table"}))
    save_credentials("127.0.0.1:5000", Credentials("bob", "pa:ss"), config)
    save_credentials("docker.io", Credentials("hub", "h"), config)
    data = json.loads(config.read_text())
    assert data["psFormat"] == "table"  # other keys untouched
    assert base64.b64decode(data["auths"]["127.0.0.1:5000"]["auth"]) == b"bob:pa:ss"
    assert "https://index.docker.io/v1/" in data["auths"]
    assert load_credentials("127.0.0.1:5000", config) == Credentials("bob", "pa:ss")
    assert load_credentials("docker.io", config) == Credentials("hub", "h")
    assert load_credentials("other:1", config) is None
    assert remove_credentials("127.0.0.1:5000", config)
    assert load_credentials("127.0.0.1:5000", config) is None
    assert load_credentials("x", tmp_path / "missing.json") is None


def test_loopback_detection() -> None:
    assert is_loopback_registry("127.0.0.1:5000")
    assert is_loopback_registry("localhost:5000")
    assert is_loopback_registry("[::1]:5000")
    assert not is_loopback_registry("registry.example.com")
    assert not is_loopback_registry("10.0.0.1:5000")


def test_platform_selection() -> None:
    assert parse_platform("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    index = {"manifests": [
        {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "amd64"}},
    ]}
    assert pick_platform(index, Platform("linux", "amd64"), "x")["digest"] == "sha256:b"
    assert pick_platform(index, Platform("linux", "arm", "v7"), "x")["digest"] == "sha256:a"
    with pytest.raises(NotFoundError, match="no matching manifest for linux/s390x"):
        pick_platform(index, Platform("linux", "s390x"), "x")


class _TokenRegistry(BaseHTTPRequestHandler):
    """/v2/ wants a bearer token; /token hands one out for alice:s3cret only."""

    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:  # http.server API name
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"token": "tok-123"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.headers.get("Authorization") == "Bearer tok-123":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        self.send_response(401)
        self.send_header(
            "WWW-Authenticate",
            f'Bearer realm="http://127.0.0.1:{port}/token",service="test",scope=""',
        )
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture()
def token_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bearer_token_handshake(token_registry: str) -> None:
    good = RegistryClient(token_registry, credentials=Credentials("alice", "s3cret"))
    good.ping()
    good.close()
    bad = RegistryClient(token_registry, credentials=Credentials("alice", "nope"))
    with pytest.raises(RegistryAuthError, match=r"token service .* refused the login of alice"):
        bad.ping()
    bad.close()


class _FlakyBlobServer(BaseHTTPRequestHandler):
    """Serves one blob; the first plain GET breaks off halfway, a Range GET resumes."""

    blob = bytes(range(256)) * 4096  # 1 MiB
    requests_seen: list[str] = []

    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:  # http.server API name
        range_header = self.headers.get("Range")
        type(self).requests_seen.append(range_header or "full")
        if range_header is None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.blob)))
            self.end_headers()
            self.wfile.write(self.blob[: len(self.blob) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        start = int(range_header.removeprefix("bytes=").rstrip("-"))
        self.send_response(206)
        self.send_header("Content-Length", str(len(self.blob) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(self.blob) - 1}/{len(self.blob)}")
        self.end_headers()
        self.wfile.write(self.blob[start:])


def test_broken_blob_download_resumes_with_range(tmp_path: Path) -> None:
    from engine.content import ContentStore, sha256_digest

    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyBlobServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = RegistryClient(f"127.0.0.1:{server.server_address[1]}")
        store = ContentStore(tmp_path / "content")
        blob = _FlakyBlobServer.blob
        digest = sha256_digest(blob)
        got = client.fetch_blob("r", digest, len(blob), store)
        assert got.digest == digest and store.read_bytes(digest) == blob
        assert _FlakyBlobServer.requests_seen[0] == "full"
        assert _FlakyBlobServer.requests_seen[1].startswith("bytes=")
        assert list(store.ingest.iterdir()) == []
        client.close()
    finally:
        server.shutdown()
        server.server_close()
