"""Credentials as Docker keeps them (``~/.docker/config.json``) and the auth challenge grammar.

Users come with ``docker login`` habits and files: we read the same ``auths`` entries
(``{"auth": base64("user:password")}``), honour ``credHelpers``/``credsStore`` by running the
same ``docker-credential-*`` helpers, and ``pycompose login`` writes the same shape, so either
tool's login serves both.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engine.image_layout import write_file_atomic
from engine.references import DEFAULT_DOMAIN
from engine.registry.errors import RegistryAuthError

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_PARAM_RE = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True)
class Credentials:
    """A registry login as `docker login` stores it: sent as is for a Basic challenge, and to
    the token realm for a Bearer one."""

    username: str
    password: str

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: ``Bearer realm="…",service="…",scope="…"``."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    params = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _PARAM_RE.finditer(rest)}
    return Challenge(scheme=scheme.lower(), params=params)


def docker_config_path() -> Path:
    """``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``, as the docker CLI reads."""
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def _auth_keys(registry: str) -> list[str]:
    if registry in (DEFAULT_DOMAIN, "index.docker.io", "registry-1.docker.io"):
        return [DOCKER_HUB_AUTH_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]


def _read_config(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RegistryAuthError(
            f"cannot read credentials from {path}: {exc}", subject=str(path)
        ) from exc
    return data if isinstance(data, dict) else {}


def _from_helper(helper: str, key: str) -> Credentials | None:
    try:
        done = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=key.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        data = json.loads(done.stdout)
        return Credentials(str(data["Username"]), str(data["Secret"]))
    except (ValueError, KeyError, TypeError):
        return None


def load_credentials(registry: str, config_path: Path | None = None) -> Credentials | None:
    """The stored login for ``registry`` (a domain such as ``127.0.0.1:5000``), if any."""
    config = _read_config(config_path or docker_config_path())
    keys = _auth_keys(registry)
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict) and registry in helpers:
        return _from_helper(str(helpers[registry]), keys[0])
    auths = config.get("auths")
    if isinstance(auths, dict):
        for key in keys:
            entry = auths.get(key)
            if isinstance(entry, dict) and entry.get("auth"):
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    raise RegistryAuthError(
                        f"the stored login for {registry} in {config_path} is corrupt",
                        subject=registry,
                        hint=f"pycompose login {registry}",
                    ) from None
                return Credentials(user, password)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, keys[0])
    return None


def save_credentials(
    registry: str, credentials: Credentials, config_path: Path | None = None
) -> Path:
    """Write the login like ``docker login`` does (file mode 0600, other keys untouched)."""
    path = config_path or docker_config_path()
    config = _read_config(path)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    raw = f"{credentials.username}:{credentials.password}".encode()
    auths[_auth_keys(registry)[0]] = {"auth": base64.b64encode(raw).decode()}
    config["auths"] = auths
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_file_atomic(path, json.dumps(config, indent="\t").encode() + b"\n", mode=0o600)
    return path


def remove_credentials(registry: str, config_path: Path | None = None) -> bool:
    path = config_path or docker_config_path()
    config = _read_config(path)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return False
    removed = [k for k in _auth_keys(registry) if auths.pop(k, None) is not None]
    if removed:
        write_file_atomic(path, json.dumps(config, indent="\t").encode() + b"\n", mode=0o600)
    return bool(removed)
