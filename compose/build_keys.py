"""The ``build:`` keys that shape the RUN steps' sandbox (``network``, ``extra_hosts``,
``shm_size``, ``ulimits``, ``privileged``, ``entitlements``), and those this local,
single-platform builder has no use for.

docker compose hands these to BuildKit: ``network`` is ``default``, ``host`` or ``none`` (a
named network is BuildKit's error), ``privileged`` grants the ``security.insecure``
entitlement that ``RUN --security=insecure`` needs (a plain RUN stays sandboxed), other
platforms than this machine's cannot be built. ``cache_from``, ``cache_to`` and ``isolation``
change nothing here: a warning names them rather than letting them look in effect. Errors and
warnings name the service and the key.
"""

from __future__ import annotations

from compose.errors import ComposeError
from compose.model import Service

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

# key -> what it would have done (the warning says it is ignored)
IGNORED_BUILD_KEYS = {
    "cache_from": "external build cache sources",
    "cache_to": "a build cache export",
    "isolation": "an isolation technology (Windows)",
}
ENTITLEMENTS = ("network.host", "security.insecure")


def build_key_warnings(service: Service, section: dict[str, Any]) -> list[str]:
    """One warning per key of the build section that is set and not acted on."""
    return [
        f'service "{service.name}": build.{key} ({what}) is not supported by pycompose\'s'
        " builder and is ignored"
        for key, what in IGNORED_BUILD_KEYS.items()
        if section.get(key) not in (None, [], {}, "", "default")  # isolation: default
    ]


def sandbox_options(service: Service, section: dict[str, Any]) -> dict[str, Any]:
    """BuildOptions fields for the RUN steps: network, extra_hosts, shm_size, ulimits,
    allow_insecure; refuses ssh and foreign platforms before anything is built."""
    _refuse_ssh(service, section)
    _check_platforms(service, section)
    return {
        "network": _network(service, section.get("network")),
        "extra_hosts": tuple(str(h) for h in section.get("extra_hosts") or ()),
        "shm_size": _shm_size(service, section.get("shm_size")),
        "ulimits": _ulimits(service, section.get("ulimits") or {}),
        "allow_insecure": _allow_insecure(service, section),
    }


def _bad(service: Service, key: str, problem: str, hint: str | None = None) -> ComposeError:
    return ComposeError(f"service {service.name}: build.{key}: {problem}", hint=hint)


def _network(service: Service, value: object) -> str:
    text = str(value or "default")
    if text == "default":
        return "host"  # the builder's default: RUN steps share the host's network
    if text in ("host", "none"):
        return text
    raise _bad(service, "network", f'network mode "{text}" not supported by buildkit',
               hint="use default, host or none: a build step joins no project network")


def _shm_size(service: Service, value: object) -> int | None:
    if value in (None, ""):
        return None
    from compose.byte_size import parse_byte_size

    try:
        size = parse_byte_size(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _bad(service, "shm_size", str(exc)) from None
    if size <= 0:
        raise _bad(service, "shm_size", f"must be positive: {value!r}")
    return size


def _ulimits(service: Service, value: dict[str, Any]) -> dict[str, tuple[int, int]]:
    out = {}
    for name, limit in value.items():
        try:
            if isinstance(limit, dict):
                if limit.get("soft") is None or limit.get("hard") is None:
                    raise _bad(service, f"ulimits.{name}", "needs both soft and hard")
                out[str(name)] = (int(limit["soft"]), int(limit["hard"]))
            else:
                out[str(name)] = (int(limit), int(limit))
        except (TypeError, ValueError):
            raise _bad(service, f"ulimits.{name}", f"not an integer: {limit!r}") from None
    return out


def _allow_insecure(service: Service, section: dict[str, Any]) -> bool:
    entitlements = [str(e) for e in section.get("entitlements") or ()]
    unknown = [e for e in entitlements if e not in ENTITLEMENTS]
    if unknown:
        raise _bad(service, "entitlements", f"unknown entitlement {unknown[0]!r}",
                   hint=f"known: {', '.join(ENTITLEMENTS)}")
    privileged = section.get("privileged")
    if isinstance(privileged, str):
        privileged = privileged.strip().lower() in ("true", "1", "yes")
    return bool(privileged) or "security.insecure" in entitlements


def _refuse_ssh(service: Service, section: dict[str, Any]) -> None:
    if section.get("ssh"):
        raise _bad(service, "ssh", "not supported: the builder has no SSH agent forwarding",
                   hint="use a build secret (build.secrets / --secret) instead")


def _check_platforms(service: Service, section: dict[str, Any]) -> None:
    """Only this machine's platform: the builder runs RUN steps natively, without emulation,
    so another platform's image cannot be built (compose errors on multi-platform builds of
    a builder that cannot do them)."""
    from engine.api import host_architecture

    here = f"linux/{host_architecture()}"
    wanted = [str(p) for p in section.get("platforms") or ()]
    service_platform = service.raw.get("platform")
    if service_platform and wanted and str(service_platform) not in wanted:
        raise _bad(service, "platforms", f"service platform {service_platform} is not in"
                   f" build.platforms ({', '.join(wanted)})")
    if len(wanted) > 1:
        raise _bad(service, "platforms", f"multi-platform build is not supported: the builder"
                   f" builds for this machine ({here}) only")
    foreign = [p for p in wanted if not _same_platform(p, here)]
    if foreign:
        raise _bad(service, "platforms", f"{foreign[0]} cannot be built: the builder builds"
                   f" for this machine ({here}) only, without emulation")


def _same_platform(platform: str, here: str) -> bool:
    parts = platform.lower().split("/")
    aliases = {"x86_64": "amd64", "aarch64": "arm64"}
    if len(parts) >= 2:
        parts[1] = aliases.get(parts[1], parts[1])
    return "/".join(parts[:2]) == here
