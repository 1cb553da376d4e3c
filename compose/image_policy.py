"""Which image each service runs, and whether to build or pull it first (``pull_policy``).

docker compose's rules: a service with ``build:`` and no ``image:`` runs ``<project>-<service>``;
``pull_policy`` ``always`` pulls every time, ``missing`` (default; also ``if_not_present``)
pulls only an absent image (when the policy is not written down, only from a loopback
registry or with ``PYCOMPOSE_AUTO_PULL=1``: see ``_implicit_pull_allowed``), ``never``
requires it locally, ``build`` always builds. ``up
--build`` builds every service that has ``build:``; ``up --pull`` overrides the policy. An
absent image with a ``build:`` section is built rather than pulled (compose does the same when
the pull fails). Errors name the service.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from compose.errors import ComposeError
from compose.model import Project, Service
from engine.api import Engine, EngineError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

Report = Callable[[str], None]
PULL_POLICIES = ("always", "missing", "never", "build")
_POLICY_ALIASES = {"if_not_present": "missing", "daily": "missing", "weekly": "missing"}


def _ignore(_line: str) -> None:
    pass


def image_name(project: Project, service: Service) -> str:
    """The image a service runs: its ``image:``, else ``<project>-<service>``."""
    return service.image or f"{project.name}-{service.name}"


def build_section(service: Service) -> dict[str, Any] | None:
    value = service.raw.get("build")
    return value if isinstance(value, dict) else None


def pull_policy(service: Service, override: str | None = None) -> str:
    text = override or str(service.raw.get("pull_policy") or "missing")
    text = _POLICY_ALIASES.get(text, text)
    if text.startswith("every_"):
        text = "always"
    if text not in PULL_POLICIES:
        raise ComposeError(
            f"service {service.name}: invalid pull_policy {text!r}"
            f" (expected one of {', '.join(PULL_POLICIES)})"
        )
    return text


def build_args(
    project: Project, section: dict[str, Any], given: dict[str, str | None] | None = None
) -> dict[str, str]:
    """The build args passed to the builder, as docker compose resolves them: `given` (the
    CLI's `--build-arg`) over the section's `args`; one without a value takes the project's
    environment (the shell, `.env`), and one still without a value is not passed at all, so
    the Dockerfile's `ARG NAME=default` applies (passing "" would override it)."""
    merged: dict[str, Any] = dict(section.get("args") or {})
    merged.update(given or {})
    resolved = {}
    for key, value in merged.items():
        if value is None:
            value = project.environment.get(key)
        if value is not None:
            resolved[str(key)] = str(value)
    return resolved


def build_options(
    project: Project, service: Service, *, no_cache: bool = False, pull: bool = False,
    secrets: tuple[Any, ...] = (), report: Report = _ignore,
    extra_args: dict[str, str | None] | None = None,
) -> Any:
    """BuildOptions for a service's ``build:`` section (engine imported lazily); `secrets`
    (the CLI's ``--secret``) win over ``build.secrets`` of the same id, `extra_args` (its
    ``--build-arg``) over ``build.args``."""
    from compose.build_contexts import named_contexts
    from compose.build_keys import sandbox_options
    from compose.build_secrets import service_build_secrets
    from engine.api import BuildOptions

    section = build_section(service) or {}
    context = Path(str(section.get("context") or "."))
    if not context.is_absolute():
        context = project.working_dir / context
    dockerfile = section.get("dockerfile")
    args = build_args(project, section, extra_args)
    tags = (image_name(project, service), *(str(t) for t in section.get("tags") or ()))
    return BuildOptions(
        context=context,
        dockerfile=(context / str(dockerfile)) if dockerfile else None,
        dockerfile_inline=section.get("dockerfile_inline"),
        tags=tuple(dict.fromkeys(tags)),
        build_args=args,
        target=section.get("target"),
        labels={str(k): str(v) for k, v in (section.get("labels") or {}).items()},
        no_cache=no_cache or bool(section.get("no_cache")),
        pull=pull or bool(section.get("pull")),
        secrets=_merged_secrets(service_build_secrets(project, service, report), secrets),
        named_contexts=named_contexts(project, service),
        **sandbox_options(service, section),
    )


def _merged_secrets(defined: tuple[Any, ...], given: tuple[Any, ...]) -> tuple[Any, ...]:
    by_id = {s.id: s for s in defined}
    by_id.update({s.id: s for s in given})
    return tuple(by_id.values())


def build_service(
    engine: Engine, project: Project, service: Service, *, no_cache: bool = False,
    pull: bool = False, report: Report = _ignore, secrets: tuple[Any, ...] = (),
    extra_args: dict[str, str | None] | None = None, warn: Report | None = None,
) -> str:
    """Build a service's image; `warn` (default: `report`) gets the warnings for build keys
    that change nothing, which `build -q` still shows (docker compose logs them)."""
    section = build_section(service)
    if section is None:
        raise ComposeError(f"service {service.name} has no build section")
    from compose.build_keys import build_key_warnings

    options = build_options(project, service, no_cache=no_cache, pull=pull,
                            secrets=secrets, report=report, extra_args=extra_args)
    for warning in build_key_warnings(service, section):
        (warn or report)(f"WARN[0000] {warning}")
    report(f"[+] Building {service.name}")
    try:
        result = engine.build_image(options, report)
    except EngineError as exc:
        raise ComposeError(
            f"service {service.name}: failed to build: {exc}", hint=exc.hint
        ) from exc
    report(f" Service {service.name}  Built")
    return str(result.image.id)


def pull_service(engine: Engine, service: Service, report: Report = _ignore) -> str:
    if not service.image:
        raise ComposeError(f"service {service.name} has no image to pull")
    report(f" {service.name} Pulling")
    try:
        image = engine.pull_image(service.image, service.raw.get("platform"))
    except EngineError as exc:
        raise ComposeError(
            f"service {service.name}: failed to pull {service.image}: {exc}", hint=exc.hint
        ) from exc
    report(f" {service.name} Pulled")
    return image.id


def ensure_images(
    engine: Engine,
    project: Project,
    services: list[str],
    *,
    build: bool,
    pull: str | None,
    report: Report = _ignore,
    no_cache: bool = False,
    no_build: bool = False,
    quiet_pull: bool = False,
    quiet_build: bool = False,
) -> dict[str, str]:
    """Service → image id, building or pulling as flags and ``pull_policy`` say."""
    if pull is not None and pull not in ("always", "missing", "never", "policy"):
        raise ComposeError(f"invalid --pull value {pull!r}: use always, missing or never")
    resolved: dict[str, str] = {}
    done: dict[str, str] = {}  # image name → id, so shared images are built/pulled once
    problems: list[str] = []
    hints: list[str | None] = []
    from compose.build_contexts import context_services, with_context_services

    for name in with_context_services(project, services):
        service = project.services[name]
        wanted = image_name(project, service)
        try:
            failed = [s for s in context_services(service) if s not in resolved]
            if failed:  # its service: context has no image: nothing to build from
                raise ComposeError(f"service {name}: not built: its build context"
                                   f" service:{failed[0]} failed")
            if wanted in done:
                resolved[name] = done[wanted]
                continue
            resolved[name] = done[wanted] = _ensure_one(
                engine, project, service, build=build, pull=pull, report=report,
                no_cache=no_cache, no_build=no_build, quiet_pull=quiet_pull,
                quiet_build=quiet_build,
            )
        except ComposeError as exc:
            problems.append(str(exc))
            hints.append(exc.hint)
    if problems:
        raise ComposeError("\n".join(problems), hint=next((h for h in hints if h), None))
    return {name: resolved[name] for name in services}


def _ensure_one(
    engine: Engine, project: Project, service: Service, *, build: bool, pull: str | None,
    report: Report, no_cache: bool, no_build: bool = False, quiet_pull: bool = False,
    quiet_build: bool = False,
) -> str:
    has_build = build_section(service) is not None
    if not service.image and not has_build:
        raise ComposeError(
            f"service {service.name} has neither an image nor a build context specified"
        )
    policy = pull_policy(service, pull if pull in PULL_POLICIES else None)
    wanted = image_name(project, service)
    if no_build:
        has_build = False  # --no-build: what is there, else pulled as the policy allows
        if not service.image and engine.images.find(wanted) is None:
            raise ComposeError(
                f"service {service.name}: image {wanted} not found and --no-build was given",
                hint="build it first (`pycompose build`)",
            )
        if policy == "build":
            policy = "missing"
    build_report = _ignore if quiet_build else report  # --quiet-build
    if has_build and (build or policy == "build"):
        return build_service(engine, project, service, no_cache=no_cache, report=build_report)
    pull_report = _ignore if quiet_pull else report
    if policy == "always" and service.image:
        return pull_service(engine, service, pull_report)
    local = engine.images.find(wanted)
    if local is not None:
        return local.id
    if has_build:
        return build_service(engine, project, service, no_cache=no_cache, report=build_report)
    if policy == "never":
        raise ComposeError(
            f"service {service.name}: image {wanted} not found and pull_policy is never",
            hint="import, load or pull the image first",
        )
    explicit = pull is not None or "pull_policy" in service.raw
    if not (explicit or _implicit_pull_allowed(wanted)):
        raise ComposeError(
            f"service {service.name}: image {wanted} not found locally",
            hint="pull it (`pycompose pull`, `up --pull missing`, or pull_policy: missing),"
            " import or load it; PYCOMPOSE_AUTO_PULL=1 pulls missing images like docker",
        )
    return pull_service(engine, service, pull_report)


def _implicit_pull_allowed(reference: str) -> bool:
    """Pull a missing image without being asked? Docker does; here only from a loopback
    registry or with ``PYCOMPOSE_AUTO_PULL=1``, so that nothing reaches the network unless
    the user (flag, pull_policy, env) or the reference itself says so."""
    import os

    from engine.api import is_loopback_registry, parse_reference

    if os.environ.get("PYCOMPOSE_AUTO_PULL", "").lower() in ("1", "true", "yes"):
        return True
    try:
        return is_loopback_registry(parse_reference(reference).domain)
    except EngineError:
        return False
