"""`ulimits`: Docker's names for rlimits and the checks made before a container starts.

A process can lower its hard limits but only raise them with CAP_SYS_RESOURCE. The engine's
containers inherit the engine's limits, so a request above them is refused up front with the
reason, instead of failing obscurely (or silently being clamped) inside the container.
"""

from __future__ import annotations

import resource

from engine.errors import InvalidArgumentError

# Linux RLIMIT_* numbers (asm-generic/resource.h); `resource` lacks a few of the names.
RLIMITS: dict[str, int] = {
    "cpu": 0,
    "fsize": 1,
    "data": 2,
    "stack": 3,
    "core": 4,
    "rss": 5,
    "nproc": 6,
    "nofile": 7,
    "memlock": 8,
    "as": 9,
    "locks": 10,
    "sigpending": 11,
    "msgqueue": 12,
    "nice": 13,
    "rtprio": 14,
    "rttime": 15,
}
_INFINITY = resource.RLIM_INFINITY


def rlimit_number(name: str) -> int:
    return RLIMITS[name]


def _has_sys_resource() -> bool:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> 24 & 1)
    return False


def check_ulimit(subject: str, name: str, soft: int, hard: int) -> tuple[int, int]:
    """Validate one ulimit against its name and the engine's own hard limit; -1 = unlimited."""
    if name not in RLIMITS:
        raise InvalidArgumentError(
            f"{subject}: ulimits: unknown limit {name!r} (known: {', '.join(RLIMITS)})",
            subject=subject,
        )
    soft = _INFINITY if soft == -1 else soft
    hard = _INFINITY if hard == -1 else hard
    if hard != _INFINITY and (soft == _INFINITY or soft > hard):
        raise InvalidArgumentError(
            f"{subject}: ulimits: {name}: soft limit {soft} is above the hard limit {hard}",
            subject=subject,
        )
    _cur_soft, cur_hard = resource.getrlimit(RLIMITS[name])
    above = cur_hard != _INFINITY and (hard == _INFINITY or hard > cur_hard)
    if above and not _has_sys_resource():
        raise InvalidArgumentError(
            f"{subject}: ulimits: {name}: hard limit {hard} is above the engine's own hard "
            f"limit {cur_hard}; raising it needs CAP_SYS_RESOURCE, which this engine lacks",
            subject=subject,
        )
    return soft, hard
