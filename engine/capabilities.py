"""Linux capabilities: Docker's default set, cap_add/cap_drop/privileged resolution (pure), and
applying the result to the container's init right before exec (kernel-facing, via syscalls).

Docker gives a container 14 capabilities (mask 0xa80425fb), clears the inheritable and
ambient sets, and bounds everything else away so that no exec can regain it.
"""

from __future__ import annotations

import functools

from engine.errors import InvalidArgumentError

# Kernel numbering (include/uapi/linux/capability.h).
CAPABILITIES: dict[str, int] = {
    "CHOWN": 0,
    "DAC_OVERRIDE": 1,
    "DAC_READ_SEARCH": 2,
    "FOWNER": 3,
    "FSETID": 4,
    "KILL": 5,
    "SETGID": 6,
    "SETUID": 7,
    "SETPCAP": 8,
    "LINUX_IMMUTABLE": 9,
    "NET_BIND_SERVICE": 10,
    "NET_BROADCAST": 11,
    "NET_ADMIN": 12,
    "NET_RAW": 13,
    "IPC_LOCK": 14,
    "IPC_OWNER": 15,
    "SYS_MODULE": 16,
    "SYS_RAWIO": 17,
    "SYS_CHROOT": 18,
    "SYS_PTRACE": 19,
    "SYS_PACCT": 20,
    "SYS_ADMIN": 21,
    "SYS_BOOT": 22,
    "SYS_NICE": 23,
    "SYS_RESOURCE": 24,
    "SYS_TIME": 25,
    "SYS_TTY_CONFIG": 26,
    "MKNOD": 27,
    "LEASE": 28,
    "AUDIT_WRITE": 29,
    "AUDIT_CONTROL": 30,
    "SETFCAP": 31,
    "MAC_OVERRIDE": 32,
    "MAC_ADMIN": 33,
    "SYSLOG": 34,
    "WAKE_ALARM": 35,
    "BLOCK_SUSPEND": 36,
    "AUDIT_READ": 37,
    "PERFMON": 38,
    "BPF": 39,
    "CHECKPOINT_RESTORE": 40,
}

DOCKER_DEFAULT: tuple[str, ...] = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
)


def canonical_name(name: str) -> str | None:
    """`cap_net_admin`, `NET_ADMIN`, `ALL` as Docker accepts them: the bare upper-case name,
    or None when there is no such capability."""
    text = name.strip().upper().removeprefix("CAP_")
    return text if text == "ALL" or text in CAPABILITIES else None


def _normalize(name: str, subject: str, key: str) -> str:
    text = canonical_name(name)
    if text is None:
        raise InvalidArgumentError(
            f"{subject}: {key}: unknown capability {name!r}", subject=subject
        )
    return text


@functools.cache  # a kernel constant; resolve() asks once per capability name
def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return max(CAPABILITIES.values())


@functools.cache
def bounding_set_of_self() -> frozenset[str]:
    """The capabilities this process can still hand out (CapBnd of /proc/self/status). Read
    once per process (an `up` of 50 services read it 50 times): a bounding set only ever
    shrinks, and only init drops from it, in its own process, after the spec is made."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
                return frozenset(n for n, bit in CAPABILITIES.items() if mask >> bit & 1)
    return frozenset(CAPABILITIES)


def resolve(
    cap_add: tuple[str, ...],
    cap_drop: tuple[str, ...],
    privileged: bool,
    subject: str,
    available: frozenset[str] | None = None,
) -> tuple[str, ...]:
    """Docker's rule: start from the default set (or all when privileged), add, then drop;
    `ALL` in cap_add means every capability, in cap_drop means start from nothing."""
    have = available if available is not None else bounding_set_of_self()
    known = {n for n, bit in CAPABILITIES.items() if bit <= last_cap()}
    adds = {_normalize(c, subject, "cap_add") for c in cap_add}
    drops = {_normalize(c, subject, "cap_drop") for c in cap_drop}
    if privileged:
        return tuple(sorted(known & have, key=CAPABILITIES.__getitem__))
    caps = set() if "ALL" in drops else set(DOCKER_DEFAULT)
    if "ALL" in adds:
        caps = set(known)
    else:
        missing = sorted((adds - {"ALL"}) - have)
        if missing:
            raise InvalidArgumentError(
                f"{subject}: cap_add: {', '.join(missing)} cannot be granted: this engine "
                "does not hold it (not in its bounding set)",
                subject=subject,
            )
        caps |= adds
    caps -= drops - {"ALL"}
    return tuple(sorted(caps & known & have, key=CAPABILITIES.__getitem__))


def mask(names: tuple[str, ...]) -> int:
    value = 0
    for name in names:
        value |= 1 << CAPABILITIES[name]
    return value


def drop_bounding_set(keep: tuple[str, ...]) -> None:
    """Remove every capability outside `keep` from the bounding set: no exec can regain it.
    Needs CAP_SETPCAP, so it runs before the user switch."""
    from engine import syscalls as sc  # ctypes and libc: not for what only checks names

    wanted = mask(keep)
    for bit in range(last_cap() + 1):
        if not wanted >> bit & 1:
            sc.prctl(sc.PR_CAPBSET_DROP, bit)


def apply_process_capabilities(keep: tuple[str, ...], uid: int) -> None:
    """Final sets before exec: root keeps `keep` as permitted+effective; another user gets none
    (Docker since 20.10); inheritable and ambient are always empty."""
    from engine import syscalls as sc  # (see `drop_bounding_set`)

    sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_CLEAR_ALL)
    caps = mask(keep) if uid == 0 else 0
    sc.capset(caps, caps, 0)
