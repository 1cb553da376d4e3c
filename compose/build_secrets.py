"""Build secrets for the builder: a service's ``build.secrets`` (top-level ``secrets:`` with
``file:`` or ``environment:``) and the CLI's ``--secret id=…,src=…|env=…`` (docker buildx's
syntax).

docker compose's rules: the id a Dockerfile mounts is the entry's ``target`` when given, else
its ``source``; an ``external`` secret cannot be given to a build; ``uid``/``gid``/``mode`` are
ignored with a warning (the Dockerfile's ``--mount`` says them). An ``environment:`` secret
takes the variable from the project's environment (the shell's, then ``.env``); an unset one
is simply not provided, so only a ``required`` mount fails.
"""

from __future__ import annotations

import csv
from pathlib import Path

from compose.errors import ComposeError
from compose.model import Project, Service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from engine.api import BuildSecret


def _entry(item: Any) -> tuple[str, str, bool]:
    """(source, id, has file options) of one `build.secrets` entry, either syntax."""
    if isinstance(item, dict):
        source = str(item.get("source") or "")
        ident = str(item.get("target") or source)
        return source, ident, any(item.get(k) is not None for k in ("uid", "gid", "mode"))
    return str(item), str(item), False


def service_build_secrets(
    project: Project, service: Service, warn: Any = None
) -> tuple[BuildSecret, ...]:
    """The secrets a service's build may mount, errors naming the service and secret."""
    from engine.api import BuildSecret

    build = service.raw.get("build")
    items = build.get("secrets") if isinstance(build, dict) else None
    defined: dict[str, Any] = project.raw.get("secrets") or {}
    out: list[BuildSecret] = []
    for item in items or ():
        source, ident, file_options = _entry(item)
        spec = defined.get(source) or {}
        if file_options and warn is not None:
            warn(f"service {service.name}: build secret {source}: uid, gid and mode are"
                 " ignored (the Dockerfile's --mount=type=secret sets them)")
        if spec.get("file"):
            out.append(BuildSecret(ident, file=Path(str(spec["file"]))))
        elif spec.get("environment"):
            value = project.environment.get(str(spec["environment"]))
            if value is not None:
                out.append(BuildSecret(ident, value=value.encode()))
        else:
            raise ComposeError(
                f"service {service.name}: build.secrets only supports environment or"
                f" file-based secrets: {source!r}"
            )
    return tuple(out)


def parse_secret_flag(text: str, environ: dict[str, str], cwd: Path) -> BuildSecret | None:
    """``--secret id=x,src=path`` | ``id=x,env=VAR`` | ``id=x,type=env`` | ``id=x`` (an
    environment variable of that name if set, else a file of that name), as docker buildx
    reads it; None for an environment variable that is not set (the secret is absent)."""
    from engine.api import BuildSecret

    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise ComposeError(f"invalid --secret {text!r}") from None
    values: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        key = key.strip().lower()
        if not sep:
            raise ComposeError(f"invalid --secret {text!r}: field {field!r} must be a"
                               " key=value pair")
        if key in ("source", "src"):
            key = "src"
        if key not in ("id", "type", "src", "env"):
            raise ComposeError(f"invalid --secret {text!r}: unexpected key {key!r}"
                               " (id, type, src, env)")
        values[key] = value
    kind = values.get("type")
    if kind not in (None, "file", "env"):
        raise ComposeError(f"invalid --secret {text!r}: unsupported secret type {kind!r}")
    ident = values.get("id") or Path(values.get("src", "")).name or values.get("env", "")
    if not ident:
        raise ComposeError(f"invalid --secret {text!r}: an id is required")
    env: str | None = values.get("env") or (values.get("src") if kind == "env" else None)
    src: str | None = None if kind == "env" else values.get("src")
    if env is None and src is None:
        env, src = (ident, None) if ident in environ else (None, ident)
    if env is not None:
        found = environ.get(env)
        return None if found is None else BuildSecret(ident, value=found.encode())
    path = Path(str(src)).expanduser()
    return BuildSecret(ident, file=path if path.is_absolute() else cwd / path)
