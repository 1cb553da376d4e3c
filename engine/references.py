"""Image references (``busybox``, ``myreg:5000/x/y:1``, ``alpine@sha256:…``) parsed by Docker's
rules, so names typed by users with Docker habits mean here what they mean to ``docker``.

Pure: no I/O. The grammar follows github.com/distribution/reference (``regexp.go``,
``normalize.go``): a missing domain means ``docker.io``, a single-component name on Docker Hub
gets ``library/``, and a name without tag or digest gets ``:latest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from engine.errors import InvalidArgumentError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$",
    re.ASCII,
)
_ANCHORED_ID_RE = re.compile(r"^[a-f0-9]{64}$", re.ASCII)
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Reference:
    """A normalized reference: ``domain`` and ``path`` are always set (``docker.io``,
    ``library/busybox``); ``tag`` is None only when a digest pins the image."""

    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """Fully qualified repository name without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """Repository name as ``docker`` prints it (``busybox``, ``user/app``, ``reg:5000/x``)."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        short = self.path
        if short.startswith(OFFICIAL_REPO_PREFIX) and "/" not in short[len(OFFICIAL_REPO_PREFIX) :]:
            short = short[len(OFFICIAL_REPO_PREFIX) :]
        return short

    def familiar(self) -> str:
        """What ``docker images`` / ``RepoTags`` show: ``busybox:latest``."""
        return self.familiar_name + self._suffix()

    def canonical(self) -> str:
        """The unambiguous form stored in the image index: ``docker.io/library/busybox:latest``."""
        return self.name + self._suffix()

    def _suffix(self) -> str:
        text = f":{self.tag}" if self.tag is not None else ""
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def __str__(self) -> str:
        return self.familiar()


def _split_domain(name: str) -> tuple[str, str]:
    """Docker's ``splitDockerDomain``: the first component is a domain only if it looks like one
    (has ``.`` or ``:``, is ``localhost``, or has uppercase letters)."""
    first, sep, rest = name.partition("/")
    if not sep or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def _invalid(text: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"invalid reference format: {why}: {text!r}",
        subject=text,
        hint="image names look like name[:tag] or registry[:port]/path/name[:tag][@digest]",
    )


@lru_cache(maxsize=1024)  # a Reference is immutable: `up` parsed each image's names per container
def parse_reference(text: str) -> Reference:
    """Parse and normalize ``text``; raises InvalidArgumentError with Docker's wording."""
    if not text:
        raise _invalid(text, "empty reference")
    if _ANCHORED_ID_RE.match(text):
        raise _invalid(text, "cannot specify 64-byte hexadecimal strings as a name")
    name_part, at, digest_part = text.partition("@")
    name_only = name_part
    slash = name_part.rfind("/")
    colon = name_part.rfind(":")
    if colon > slash:
        name_only = name_part[:colon]
    domain, remainder = _split_domain(name_only)
    if remainder.lower() != remainder:
        raise _invalid(text, "repository name must be lowercase")
    normalized = f"{domain}/{remainder}{name_part[len(name_only):]}{at}{digest_part}"
    match = _REFERENCE_RE.match(normalized)
    if match is None:
        raise _invalid(text, "bad characters or structure")
    if match["domain"] is None:  # pragma: no cover - _split_domain always supplies one
        raise _invalid(text, "missing domain")
    full_name = f"{match['domain']}/{match['path']}"
    if len(full_name) > NAME_TOTAL_LENGTH_MAX:
        raise _invalid(
            text, f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    digest = match["digest"]
    if digest is not None:
        algorithm, _, hex_part = digest.partition(":")
        expected = _DIGEST_HEX_LENGTH.get(algorithm)
        if expected is None:
            raise _invalid(text, f"unsupported digest algorithm {algorithm!r}")
        if len(hex_part) != expected or hex_part.lower() != hex_part:
            raise _invalid(text, f"invalid {algorithm} digest")
    tag = match["tag"]
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(domain=match["domain"], path=match["path"], tag=tag, digest=digest)
