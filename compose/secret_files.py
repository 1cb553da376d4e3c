"""A service's `secrets:` and `configs:` as files in its containers, as docker compose (outside
swarm) provides them.

- From a host file (`file:`): a read-only bind mount of that file (docker compose's
  buildContainerSecretMounts / buildContainerConfigMounts). A volume at the same target wins;
  `uid`, `gid` and `mode` cannot apply to the host's file and are ignored with compose's warning.
- From the project environment (`environment:`) or inline (`content:`, configs only): the
  value is copied into the container's own filesystem (compose's injectSecrets /
  injectConfigs: a tar through the archive API) when the container is created and again before
  each start by `up`/`start`, owned by `uid`:`gid` (default root) with `mode` (default 0444).
  The copy lives in the container's writable layer, under its record directory (0700), and
  goes with the container.

Targets: a secret's default is /run/secrets/<source>, a relative one is under /run/secrets/;
a config's default is /<source>, a relative one is under /. `external`, `driver` and
`template_driver` are swarm features: an error, as in docker compose. Everything is resolved
(files present, variables set) before anything is made, so a missing one leaves nothing behind.
The config hash covers the service's references, not the contents (docker compose's
ServiceHash): a changed content reaches a container at its next start by `up`/`start`, or at a
recreate (`up --force-recreate`).
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from compose.errors import ComposeError
from compose.model import Project, Service
from engine.api import MountKind, MountSpec

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from engine.api import Engine

SECRETS_DIR = "/run/secrets"
DEFAULT_MODE = 0o444  # docker compose's createTar
_SECTIONS = (("secrets", "secret"), ("configs", "config"))


@dataclass(frozen=True)
class FileReference:
    """One `secrets`/`configs` entry of a service, either syntax, with its target made
    absolute and the top-level definition it refers to."""

    kind: str  # "secret" or "config"
    source: str
    target: str
    uid: str | None
    gid: str | None
    mode: int | None
    definition: dict[str, Any]

    @property
    def label(self) -> str:
        return f'{self.kind} "{self.source}"'

    @property
    def from_file(self) -> bool:
        """Bind-mounted from the host (no environment, no inline content)."""
        if self.definition.get("environment"):
            return False
        return not (self.kind == "config" and self.definition.get("content") is not None)


@dataclass(frozen=True)
class InjectedFile:
    """A file written into the container's filesystem (content from the environment or
    inline): where, with what owner and mode. The content is never shown."""

    target: str
    content: bytes = field(repr=False)
    uid: int = 0
    gid: int = 0
    mode: int = DEFAULT_MODE


def uses_files(service: Service) -> bool:
    """Whether the service has secrets or configs (the rest of this module is then needed)."""
    return bool(service.raw.get("secrets") or service.raw.get("configs"))


def _target(kind: str, source: str, target: str | None) -> str:
    base = SECRETS_DIR if kind == "secret" else "/"
    path = target or source
    if not path.startswith("/"):
        path = posixpath.join(base, path)
    return posixpath.normpath(path)


def references(project: Project, service: Service) -> tuple[FileReference, ...]:
    """The service's secrets, then its configs (docker compose's order)."""
    out = []
    for section, kind in _SECTIONS:
        defined: dict[str, Any] = project.raw.get(section) or {}
        for item in service.raw.get(section) or ():
            entry = item if isinstance(item, dict) else {"source": item}
            source = str(entry.get("source") or "")
            mode = entry.get("mode")
            out.append(FileReference(
                kind, source, _target(kind, source, entry.get("target")),
                None if entry.get("uid") is None else str(entry["uid"]),
                None if entry.get("gid") is None else str(entry["gid"]),
                None if mode is None else int(mode),
                defined.get(source) or {},
            ))
    return tuple(out)


def _refuse_swarm_only(service: Service, ref: FileReference) -> None:
    definition = ref.definition
    if definition.get("external"):
        name = definition.get("name") or ref.source
        raise ComposeError(
            f'service "{service.name}": unsupported external {ref.kind} {name}',
            hint=f"an external {ref.kind} lives in a swarm; give it a `file:`"
            + (", `environment:` or `content:`" if ref.kind == "config" else " or `environment:`")
            + " instead",
        )
    for key in ("driver", "template_driver"):
        if definition.get(key):
            raise ComposeError(
                f'service "{service.name}": {ref.label}: {ref.kind}s.*.{key} is not supported '
                "outside swarm (docker compose refuses it too)"
            )


def _owner(service: Service, ref: FileReference, key: str, value: str | None) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except ValueError:
        raise ComposeError(
            f'service "{service.name}": {ref.label}: {key}: not a number: {value!r}'
        ) from None


def bind_mounts(
    project: Project, service: Service, taken: Iterable[str] = ()
) -> tuple[MountSpec, ...]:
    """Read-only binds of the file-based secrets and configs, but none where a volume (`taken`)
    or an earlier one already mounts; a missing file is an error naming the service."""
    used = set(taken)
    mounts = []
    for ref in references(project, service):
        _refuse_swarm_only(service, ref)
        if not ref.from_file or ref.target in used:
            continue
        source = str(ref.definition.get("file") or "")
        if not os.path.lexists(source):
            raise ComposeError(
                f'service "{service.name}": {ref.label}: invalid mount config for type "bind": '
                f"bind source path does not exist: {source}",
                hint=f"create the file, or change {ref.kind}s.{ref.source}.file",
            )
        used.add(ref.target)
        mounts.append(MountSpec(MountKind.BIND, ref.target, source, read_only=True))
    return tuple(mounts)


def injected_files(project: Project, service: Service) -> tuple[InjectedFile, ...]:
    """The secrets and configs whose content is not a host file, resolved now: an unset
    variable is an error (docker compose's wording)."""
    files = []
    for ref in references(project, service):
        if ref.from_file:
            continue
        _refuse_swarm_only(service, ref)
        variable = ref.definition.get("environment")
        if variable:
            value = project.environment.get(str(variable))
            if value is None:
                raise ComposeError(
                    f'service "{service.name}": environment variable "{variable}" required by '
                    f"{ref.label} is not set",
                    hint=f"set {variable} in the shell or in the project's .env file",
                )
        else:
            value = str(ref.definition.get("content") or "")
        files.append(InjectedFile(
            ref.target, value.encode(), _owner(service, ref, "uid", ref.uid),
            _owner(service, ref, "gid", ref.gid),
            DEFAULT_MODE if ref.mode is None else ref.mode,
        ))
    return tuple(files)


def ignored_option_warnings(project: Project, service: Service) -> list[str]:
    """docker compose's warning for `uid`, `gid` and `mode` on a file-based secret or config:
    the host's file is mounted as it is."""
    return [
        f'service "{service.name}": {ref.label}: {ref.kind}s `uid`, `gid` and `mode` are not '
        "supported, they will be ignored (the host file is bind-mounted as it is)"
        for ref in references(project, service)
        if ref.from_file and (ref.uid is not None or ref.gid is not None or ref.mode is not None)
    ]


def check(project: Project, services: Iterable[str]) -> None:
    """Everything these services' secrets and configs need, before anything is made."""
    for name in services:
        service = project.services[name]
        if uses_files(service):
            bind_mounts(project, service)
            injected_files(project, service)


def _tar_feed(files: tuple[InjectedFile, ...]) -> Any:
    def feed(out: BinaryIO) -> None:
        now = time.time()
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for item in files:
                info = tarfile.TarInfo(item.target.lstrip("/"))
                info.size, info.mode, info.mtime = len(item.content), item.mode, now
                info.uid, info.gid = item.uid, item.gid
                tar.addfile(info, io.BytesIO(item.content))

    return feed


def inject(engine: Engine, container: str, project: Project, service: Service) -> bool:
    """Copy the service's environment and inline secrets/configs into the (not running)
    container; False when it has none."""
    files = injected_files(project, service)
    if not files:
        return False
    engine.extract_into(container, "/", _tar_feed(files), keep_owner=True)
    return True
