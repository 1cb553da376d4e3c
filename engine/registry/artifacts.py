"""OCI artifacts: manifests whose blobs are small documents (a compose project's files), not
image layers. They never enter the image store: pushed from memory and fetched into memory,
through the same client (auth, logins, TLS rules) as images."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from engine.content import sha256_digest
from engine.errors import DigestMismatchError, InvalidArgumentError
from engine.references import parse_reference
from engine.registry.client import RegistryClient

# An artifact's documents are small; a descriptor announcing more is refused before download.
MAX_BLOB_SIZE = 32 << 20
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class ArtifactManifest:
    """A manifest (or index) as the registry served it, parsed; ``digest`` verified."""

    digest: str
    media_type: str
    document: dict[str, Any]
    data: bytes


class ArtifactRepository:
    """The repository a reference (``host[:port]/path[:tag|@digest]``) names, for artifacts."""

    def __init__(self, reference: str, client: RegistryClient | None = None) -> None:
        self.reference = parse_reference(reference)
        self.client = client or RegistryClient(self.reference.domain)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ArtifactRepository:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def _path(self) -> str:
        return self.reference.path

    def manifest(self, digest: str | None = None) -> ArtifactManifest:
        """The manifest the reference names (its digest, else its tag), or one by digest."""
        ref = self.reference
        fetched = self.client.get_manifest(self._path, digest or ref.digest or ref.tag or "latest")
        try:
            document = json.loads(fetched.data)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise InvalidArgumentError(
                f"the manifest of {ref.familiar()} is not a JSON object", subject=ref.familiar()
            )
        return ArtifactManifest(fetched.digest, fetched.media_type, document, fetched.data)

    def blob(self, descriptor: Mapping[str, Any]) -> bytes:
        """A descriptor's content, verified against its digest and size."""
        digest, size = descriptor.get("digest"), descriptor.get("size")
        where = self.reference.familiar()
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise InvalidArgumentError(
                f"{where}: a layer has an invalid digest {digest!r}", subject=where
            )
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_BLOB_SIZE:
            raise InvalidArgumentError(
                f"{where}: layer {digest} announces an invalid size {size!r}"
                f" (at most {MAX_BLOB_SIZE} bytes)", subject=where,
            )
        return self.client.read_blob(self._path, digest, size)

    def push(self, blobs: Sequence[bytes], manifest: bytes, media_type: str) -> str:
        """Upload the blobs the registry lacks, then the manifest under the reference's tag;
        returns the manifest digest (the registry's own answer is checked against it)."""
        for data in blobs:
            digest = sha256_digest(data)
            if not self.client.blob_exists(self._path, digest):
                self.client.upload_bytes(self._path, digest, data)
        expected = sha256_digest(manifest)
        ref = self.reference
        stored = self.client.put_manifest(self._path, ref.tag or expected, manifest, media_type)
        if stored and stored != expected:
            raise DigestMismatchError(
                f"registry {ref.domain} stored the manifest under {stored}, expected {expected}",
                subject=ref.familiar(),
            )
        return expected
