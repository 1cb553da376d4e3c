"""`extends`: a service inherits another service's definition (same file or another file).

The base is resolved first (chains allowed, cycles rejected), its relative paths are made
absolute against the file that wrote them, then the extending definition is merged on top
with the normal merge rules (so `!reset` / `!override` work through extends).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from compose.errors import ComposeFileError, Problem
from compose.merge import merge_service, strip_markers
from compose.paths import absolute, resolve_service_paths

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    # Reads another stack file and returns its (interpolated, merged) `services` mapping.
    ReadServices = Callable[[Path], dict[str, Any]]


@dataclass(frozen=True)
class ExtendsScope:
    """The services of one file and the directory its relative paths are relative to."""

    file: str
    # Where a relative `extends.file` may be: the declaring file's folder first, then the
    # project directory (docker compose accepts both for included files).
    base_dirs: tuple[Path, ...]
    services: dict[str, Any]

    def locate(self, other: str) -> Path:
        if other.startswith("oci://"):  # a published project (compose.oci_remote)
            from compose.oci_remote import load_compose_artifact

            return load_compose_artifact(other)
        candidates = [Path(absolute(other, d)) for d in self.base_dirs]
        return next((c for c in candidates if c.exists()), candidates[0])


def _spec(name: str, ext: Any, file: str) -> tuple[str, str | None]:
    if isinstance(ext, str):
        return ext, None
    if not isinstance(ext, dict) or not ext.get("service"):
        raise ComposeFileError([Problem(f"extends.{name}.service is required", file)])
    target = ext["service"]
    other = ext.get("file")
    return str(target), str(other) if other else None


def _resolve(
    scope: ExtendsScope,
    name: str,
    read: ReadServices,
    stack: tuple[tuple[str, str], ...],
) -> dict[str, Any]:
    if (scope.file, name) in stack:
        chain = " -> ".join(f"{s}" for _, s in (*stack, (scope.file, name)))
        raise ComposeFileError([Problem(f"circular reference with extends: {chain}", scope.file)])
    if name not in scope.services:
        raise ComposeFileError(
            [Problem(f'cannot extend service "{name}" in {scope.file}: service not found',
                     scope.file)]
        )
    svc = dict(scope.services[name] or {})
    ext = svc.pop("extends", None)
    if ext is None:
        return svc
    target, other = _spec(name, ext, scope.file)
    inner = (*stack, (scope.file, name))
    if other:
        path = scope.locate(other)
        other_scope = ExtendsScope(str(path), (path.parent,), read(path))
        base = _resolve(other_scope, target, read, inner)
        base = resolve_service_paths(strip_markers(base), path.parent)
    else:
        base = _resolve(scope, target, read, inner)
    return merge_service(base, svc)


def apply_extends(
    services: dict[str, Any], file: str, base_dir: Path, read: ReadServices
) -> dict[str, Any]:
    """Every service of one file with its `extends` resolved."""
    dirs = (base_dir,) if file == "-" else (Path(file).parent, base_dir)
    scope = ExtendsScope(file, dirs, services)
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, svc in services.items():
        if isinstance(svc, dict) and "extends" in svc:
            try:
                out[name] = _resolve(scope, name, read, ())
            except ComposeFileError as exc:
                problems.extend(exc.problems)
        else:
            out[name] = svc
    if problems:
        raise ComposeFileError(problems)
    return out
