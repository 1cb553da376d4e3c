"""The HTTP side of the OCI distribution spec: auth handshake, manifests and blobs.

``requests`` (a dependency for this) gives pooled keep-alive connections shared by the
parallel layer downloads, streaming bodies, and redirect handling that drops the
``Authorization`` header when a blob GET is redirected to another host (object storage) —
things ``urllib`` makes us re-implement.

Auth is driven by the registry's challenge, like Docker: a request goes out with whatever
token we hold for the repository; on 401 the ``WWW-Authenticate`` header says Basic or Bearer
(realm, service, scope); we answer it (Basic: the stored login; Bearer: fetch a token from the
realm, sending the login if we have one) and retry once. A second 401 is a clear auth error.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin

import requests

from engine.content import Blob, ContentStore
from engine.errors import DigestMismatchError
from engine.references import DEFAULT_DOMAIN
from engine.registry.auth import Challenge, Credentials, load_credentials, parse_challenge
from engine.registry.errors import (
    ManifestNotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryRejectedError,
    RegistryUnavailableError,
)

DOCKER_HUB_HOST = "registry-1.docker.io"
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_CHUNK = 1 << 16  # small enough that a broken transfer keeps most of what arrived
Progress = Callable[[int], None]


CERTS_DIRS = ("/etc/pycompose/certs.d", "/etc/docker/certs.d")


def insecure_registries() -> set[str]:
    """``PYCOMPOSE_INSECURE_REGISTRIES=host:port,…`` (docker's ``insecure-registries``)."""
    return {r.strip() for r in os.environ.get("PYCOMPOSE_INSECURE_REGISTRIES", "").split(",")
            if r.strip()}


def ca_file_for(domain: str) -> str | None:
    """A CA bundle for the registry, where Docker keeps them: ``certs.d/<host:port>/ca.crt``
    (``PYCOMPOSE_CERTS_D`` is searched first)."""
    dirs = [os.environ.get("PYCOMPOSE_CERTS_D", ""), *CERTS_DIRS]
    for base in filter(None, dirs):
        candidate = Path(base) / domain / "ca.crt"
        if candidate.is_file():
            return str(candidate)
    return None


def is_loopback_registry(domain: str) -> bool:
    """Docker treats loopback registries as insecure: TLS unverified, or plain HTTP."""
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain[1:].split("]")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest exactly as the registry sent it: the bytes stay unparsed because the image's
    identity is their digest, already checked against the one the registry announced."""

    data: bytes
    media_type: str
    digest: str  # sha256 of ``data``, verified against the header when the registry sent one


class RegistryClient:
    """One registry (``domain`` as in a reference: ``127.0.0.1:5000``, ``docker.io``)."""

    def __init__(
        self,
        domain: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool | None = None,
        timeout: float = 60.0,
        config_path: Path | None = None,
    ) -> None:
        self.domain = domain
        self.host = DOCKER_HUB_HOST if domain == DEFAULT_DOMAIN else domain
        self.insecure = (
            is_loopback_registry(domain) or domain in insecure_registries()
            if insecure is None
            else insecure
        )
        ca = ca_file_for(domain)
        # Secure registries: verified TLS. Insecure ones (loopback, listed): like Docker, TLS
        # first — verified if a CA is configured, else unverified — then plain HTTP.
        self.verify: bool | str = ca or (not self.insecure)
        if self.verify is False:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._base_url: str | None = None if self.insecure else f"https://{self.host}"
        self.credentials = credentials or load_credentials(domain, config_path)
        self.timeout = timeout
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._auth: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ plumbing

    @property
    def base_url(self) -> str:
        """Scheme + host; for an insecure registry probed once (https, else http)."""
        if self._base_url is None:
            try:
                probe = self.session.get(
                    f"https://{self.host}/v2/", timeout=min(self.timeout, 10),
                    verify=self.verify,
                )
                probe.close()
                self._base_url = f"https://{self.host}"
            except requests.RequestException:
                self._base_url = f"http://{self.host}"
        return self._base_url

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        repo: str,
        *,
        ok: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        data: bytes | BinaryIO | Iterator[bytes] | None = None,
        stream: bool = False,
        retry_body: Callable[[], bytes | BinaryIO | Iterator[bytes]] | None = None,
    ) -> requests.Response:
        """Send with the repository's auth; answer one 401 challenge; map failures to errors.

        A body that cannot be re-sent after a 401 (a stream) needs ``retry_body``.
        """
        for attempt in (0, 1):
            sent = dict(headers or {})
            with self._lock:
                auth = self._auth.get(repo)
            if auth:
                sent["Authorization"] = auth
            try:
                response = self.session.request(
                    method,
                    self._url(path),
                    headers=sent,
                    data=data,
                    stream=stream,
                    timeout=self.timeout,
                    allow_redirects=True,
                    verify=self.verify,
                )
            except requests.exceptions.SSLError as exc:
                raise RegistryUnavailableError(
                    f"TLS handshake with registry {self.domain} failed: {exc}",
                    subject=self.domain,
                    hint="trust its CA in /etc/docker/certs.d/<host:port>/ca.crt, or list it"
                    " in PYCOMPOSE_INSECURE_REGISTRIES",
                ) from exc
            except requests.RequestException as exc:
                raise RegistryUnavailableError(
                    f"cannot reach registry {self.domain}: {_short(exc)}", subject=self.domain
                ) from exc
            if response.status_code != 401:
                break
            response.close()
            if attempt == 1:
                who = f" as {self.credentials.username}" if self.credentials else ""
                scope = f" for {repo}" if repo else ""
                raise RegistryAuthError(
                    f"unauthorized: authentication to {self.domain}{scope} failed{who}",
                    subject=self.domain,
                    hint=f"check the username and password: pycompose login {self.domain}",
                )
            self._answer(repo, response.headers.get("WWW-Authenticate", ""))
            if retry_body is not None:
                data = retry_body()
        if response.status_code not in ok:
            self._raise(response, method, path, repo)
        return response

    def _answer(self, repo: str, header: str) -> None:
        challenge = parse_challenge(header) if header else Challenge("basic", {})
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise RegistryAuthError(
                    f"unauthorized: registry {self.domain} requires a login for {repo}",
                    subject=self.domain,
                    hint=f"pycompose login {self.domain}",
                )
            value = self.credentials.basic_header()
        elif challenge.scheme == "bearer":
            value = "Bearer " + self._token(repo, challenge)
        else:
            raise RegistryAuthError(
                f"registry {self.domain} asks for unsupported auth scheme {challenge.scheme!r}",
                subject=self.domain,
            )
        with self._lock:
            self._auth[repo] = value

    def _token(self, repo: str, challenge: Challenge) -> str:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryAuthError(
                f"registry {self.domain} sent a Bearer challenge without realm", subject=self.domain
            )
        query = {"service": challenge.params.get("service", "")}
        query["scope"] = challenge.params.get("scope") or f"repository:{repo}:pull"
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        try:
            response = self.session.get(
                realm, params=query, auth=auth, timeout=self.timeout, allow_redirects=True,
                verify=self.verify,
            )
        except requests.RequestException as exc:
            raise RegistryUnavailableError(
                f"cannot reach the token service {realm} of {self.domain}: {_short(exc)}",
                subject=self.domain,
            ) from exc
        if response.status_code in (401, 403):
            raise RegistryAuthError(
                f"unauthorized: the token service of {self.domain} refused the login"
                + (f" of {self.credentials.username}" if self.credentials else ""),
                subject=self.domain,
                hint=f"check the username and password: pycompose login {self.domain}",
            )
        if response.status_code != 200:
            raise RegistryAuthError(
                f"token service {realm} answered HTTP {response.status_code}", subject=self.domain
            )
        try:
            body = response.json()
            return str(body.get("token") or body["access_token"])
        except (ValueError, KeyError) as exc:
            raise RegistryAuthError(
                f"token service {realm} sent no token", subject=self.domain
            ) from exc

    def _raise(self, response: requests.Response, method: str, path: str, repo: str) -> None:
        detail = _error_text(response)
        status = response.status_code
        response.close()
        what = f"{method} {path.split('?')[0]} on {self.domain}"
        if status == 403:
            raise RegistryAuthError(
                f"denied: {detail or 'access forbidden'} ({what})", subject=self.domain
            )
        if status == 404:
            _, manifests, reference = path.split("?")[0].partition("/manifests/")
            named = repo
            if manifests and reference:  # the tag or digest asked for, as docker names it
                named += f"@{reference}" if ":" in reference else f":{reference}"
            raise ManifestNotFoundError(
                f"{named}: not found on {self.domain}: {detail or 'HTTP 404'}", subject=repo
            )
        kind = RegistryRejectedError if 400 <= status < 500 and status != 407 else RegistryError
        raise kind(f"registry error: {what}: HTTP {status} {detail}".rstrip(), subject=repo)

    # ------------------------------------------------------------------ API

    def ping(self) -> None:
        """``GET /v2/`` — checks reachability and credentials (``login``)."""
        self.request("GET", "/v2/", "", ok=(200,)).close()

    def get_manifest(self, repo: str, reference: str) -> FetchedManifest:
        from engine.content import sha256_digest

        response = self.request(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            repo,
            headers={"Accept": MANIFEST_ACCEPT},
        )
        data = response.content
        digest = sha256_digest(data)
        announced = response.headers.get("Docker-Content-Digest")
        expected = reference if reference.startswith("sha256:") else announced
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatchError(
                f"manifest of {repo}:{reference} from {self.domain} does not match its digest:"
                f" expected {expected}, got {digest}",
                subject=f"{self.domain}/{repo}",
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            media_type = json.loads(data).get("mediaType") or media_type
        except ValueError as exc:
            raise RegistryError(
                f"manifest of {repo}:{reference} from {self.domain} is not JSON", subject=repo
            ) from exc
        return FetchedManifest(data=data, media_type=media_type, digest=digest)

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        response = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            repo,
            ok=(201, 200),
            headers={"Content-Type": media_type},
            data=data,
        )
        response.close()
        return response.headers.get("Docker-Content-Digest", "")

    def blob_exists(self, repo: str, digest: str) -> bool:
        response = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo, ok=(200, 404))
        response.close()
        return response.status_code == 200

    def fetch_blob(
        self,
        repo: str,
        digest: str,
        size: int | None,
        store: ContentStore,
        progress: Progress | None = None,
        attempts: int = 3,
    ) -> Blob:
        """Stream a blob into the content store, verified; a broken transfer resumes with
        ``Range`` where the registry allows it (else restarts), up to ``attempts`` tries."""
        if store.exists(digest):
            if progress and size:
                progress(size)
            return Blob(digest, store.size(digest))
        with store.writer() as writer:
            for attempt in range(attempts):
                headers = {"Range": f"bytes={writer.size}-"} if writer.size else {}
                response = self.request(
                    "GET", f"/v2/{repo}/blobs/{digest}", repo, ok=(200, 206), headers=headers,
                    stream=True,
                )
                if writer.size and response.status_code != 206:
                    response.close()
                    raise RegistryError(
                        f"download of {digest} broke and {self.domain} cannot resume it",
                        subject=digest,
                    )
                try:
                    for chunk in response.iter_content(_CHUNK):
                        writer.write(chunk)
                        if progress:
                            progress(len(chunk))
                    break
                except requests.RequestException as exc:
                    if attempt == attempts - 1:
                        raise RegistryUnavailableError(
                            f"download of {digest} from {self.domain} failed: {_short(exc)}",
                            subject=digest,
                        ) from exc
                finally:
                    response.close()
            try:
                return writer.commit(digest, size)
            except DigestMismatchError as exc:
                raise DigestMismatchError(
                    f"blob {digest} of {repo} from {self.domain} failed verification: "
                    f"{exc.message}",
                    subject=digest,
                    hint="the registry's storage may be corrupt",
                ) from exc

    def mount_blob(self, repo: str, digest: str, source_repo: str) -> bool:
        """Cross-repository mount; True when the registry linked the blob without upload."""
        query = urlencode({"mount": digest, "from": source_repo})
        response = self.request(
            "POST", f"/v2/{repo}/blobs/uploads/?{query}", repo, ok=(201, 202)
        )
        response.close()
        if response.status_code == 202:
            # Not mountable here: cancel the upload session the registry opened instead.
            location = response.headers.get("Location")
            if location:
                cancel = self.request(
                    "DELETE", urljoin(self.base_url + "/", location), repo, ok=(204, 200, 404)
                )
                cancel.close()
        return response.status_code == 201

    def _upload_url(self, repo: str, digest: str) -> str:
        """POST opens an upload session; its Location, with the digest, takes the one PUT."""
        response = self.request("POST", f"/v2/{repo}/blobs/uploads/", repo, ok=(202,))
        response.close()
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(
                f"registry {self.domain} opened an upload without Location", subject=repo
            )
        url = urljoin(self.base_url + "/", location)
        return url + ("&" if "?" in url else "?") + urlencode({"digest": digest})

    def upload_bytes(self, repo: str, digest: str, data: bytes) -> None:
        """Monolithic upload of a small blob held in memory (an artifact's documents)."""
        done = self.request(
            "PUT",
            self._upload_url(repo, digest),
            repo,
            ok=(201, 204),
            headers={"Content-Type": "application/octet-stream",
                     "Content-Length": str(len(data))},
            data=data,
        )
        done.close()

    def read_blob(self, repo: str, digest: str, size: int) -> bytes:
        """A small blob (an artifact's document) into memory, verified: at most ``size`` bytes
        are read, so a registry cannot make us hold more than the manifest announced."""
        from engine.content import sha256_digest

        response = self.request("GET", f"/v2/{repo}/blobs/{digest}", repo, stream=True)
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_content(_CHUNK):
                chunks.append(chunk)
                if sum(map(len, chunks)) > size:
                    break
        except requests.RequestException as exc:
            raise RegistryUnavailableError(
                f"download of {digest} from {self.domain} failed: {_short(exc)}", subject=digest
            ) from exc
        finally:
            response.close()
        data = b"".join(chunks)
        if len(data) != size or sha256_digest(data) != digest:
            raise DigestMismatchError(
                f"blob {digest} of {repo} from {self.domain} failed verification",
                subject=digest,
                hint="the registry's storage may be corrupt",
            )
        return data

    def upload_blob(self, repo: str, digest: str, path: Path, size: int) -> None:
        """Monolithic upload: POST opens a session, one PUT sends the bytes and the digest."""
        url = self._upload_url(repo, digest)

        handles: list[BinaryIO] = []

        def body() -> BinaryIO:
            handles.append(open(path, "rb"))  # noqa: SIM115 - closed below
            return handles[-1]

        try:
            done = self.request(
                "PUT",
                url,
                repo,
                ok=(201, 204),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                data=body(),
                retry_body=body,
            )
            done.close()
        finally:
            for handle in handles:
                handle.close()


def _short(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    return text if len(text) < 200 else text[:200] + "…"


def _error_text(response: requests.Response) -> str:
    try:
        body: Any = response.json()
        errors = body.get("errors") or []
        return "; ".join(
            f"{e.get('code', '').lower()}: {e.get('message', '')}".strip(": ") for e in errors
        )
    except (ValueError, AttributeError):
        return response.text[:200].strip() if response.text else ""
