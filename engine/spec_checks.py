"""What Docker's create refuses in a container's own settings (its validateContainerConfig
and validateHostConfig, and the nameservers its network sandbox parses at start): checked at
create, so a bad value leaves no record, mount or cgroup behind."""

from __future__ import annotations

import os

from engine.containers import ContainerSpec
from engine.errors import InvalidArgumentError


def _bad(spec: ContainerSpec, key: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"container {spec.name}: {key}: {message}", subject=spec.name)


def check_dns(spec: ContainerSpec) -> None:
    """A nameserver is an address: resolv.conf cannot name a server by its host name (Docker:
    "bad nameserver address", when its start builds the container's resolv.conf)."""
    import ipaddress

    for server in spec.dns:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise _bad(spec, "dns", f"bad nameserver address {server!r}: not an IPv4 or IPv6 "
                       "address") from None


def check_env(spec: ContainerSpec) -> None:
    """Docker's ValidateEnv: a variable needs a name (`=value` has none)."""
    for name, value in spec.env.items():
        if not name:
            raise _bad(spec, "environment", f"invalid environment variable: ={value}")


def check_mount_targets(spec: ContainerSpec) -> None:
    """Docker's ValidateMountConfig: a mount's path in the container is absolute (a relative
    one was mounted nowhere the process would look), a bind has a source, which exists unless
    it may be made (the start made none, but left a created container)."""
    for mount in spec.mounts:
        kind = mount.kind.value
        if not mount.target.startswith("/"):
            raise _bad(spec, "volumes", f'invalid mount config for type "{kind}": '
                       f"invalid mount path: {mount.target!r} mount path must be absolute")
        if kind == "bind" and not mount.source:
            raise _bad(spec, "volumes", f'invalid mount config for type "bind": field Source '
                       f"must not be empty (target {mount.target})")
        missing = kind == "bind" and not os.path.lexists(mount.source or "")
        if missing and not mount.create_host_path:
            raise _bad(spec, "volumes", f"bind source path does not exist: {mount.source} (for "
                       f"{mount.target}; create it, or set bind.create_host_path)")
    seen: set[str] = set()
    for target in (*(m.target for m in spec.mounts), *spec.tmpfs):
        path = os.path.normpath(target)
        if path in seen:  # one of the two was hidden by the other
            raise _bad(spec, "volumes", f"Duplicate mount point: {target}")
        seen.add(path)


UTS_NAME_MAX = 64  # the kernel's __NEW_UTS_LEN: sethostname/setdomainname refuse longer


def check_uts_names(spec: ContainerSpec) -> None:
    """A longer hostname failed the start with the kernel's bare EINVAL."""
    for key, value in (("hostname", spec.hostname), ("domainname", spec.domainname)):
        if value and len(value.encode()) > UTS_NAME_MAX:
            raise _bad(spec, key, f"{value!r} is longer than {UTS_NAME_MAX} bytes, the kernel's "
                       f"limit for a {key}")
