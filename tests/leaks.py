"""What the suite could leak into the kernel, read the same way before and after a run."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _links() -> frozenset[str]:
    out = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=False)
    names = (line.split()[0].split("@")[0] for line in out.stdout.splitlines() if line.strip())
    return frozenset(n for n in names if n.startswith(("pc", "veth")))


def _mounts() -> frozenset[str]:
    with open("/proc/mounts", encoding="utf-8") as handle:
        return frozenset(
            line.split()[1]
            for line in handle
            if "pycompose" in line or line.split()[0] == "overlay" or "/netns/" in line
        )


def _cgroups() -> frozenset[str]:
    # os.walk, not Path.glob: cgroups removed by a concurrent run while we walk are skipped
    # (glob raises FileNotFoundError on a directory that vanished under it).
    found: set[str] = set()
    for top, dirs, _files in os.walk(CGROUP_ROOT):
        if os.path.basename(top) == "pycompose":
            found.update(os.path.join(top, d) for d in dirs)
    return frozenset(found)


def _netns() -> frozenset[str]:
    try:
        return frozenset(os.listdir("/run/netns"))
    except FileNotFoundError:
        return frozenset()


def _processes() -> frozenset[str]:
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "engine.supervisor" in cmdline or "engine.dns_server" in cmdline:
            found.add(f"{pid}:{cmdline.strip()}")
    return frozenset(found)


def _firewall_rules() -> frozenset[str]:
    """Our iptables rules carry a `pcnet:`/`pcport:` comment naming what they belong to."""
    try:
        out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return frozenset()
    return frozenset(line for line in out.splitlines() if "pcnet:" in line or "pcport:" in line)


@dataclass(frozen=True)
class KernelSnapshot:
    links: frozenset[str]
    mounts: frozenset[str]
    cgroups: frozenset[str]
    netns: frozenset[str]
    processes: frozenset[str]
    rules: frozenset[str]

    def leaked_since(self, before: KernelSnapshot) -> dict[str, list[str]]:
        leaked = {
            "links": self.links - before.links,
            "mounts": self.mounts - before.mounts,
            "cgroups": self.cgroups - before.cgroups,
            "netns": self.netns - before.netns,
            "processes": self.processes - before.processes,
            "firewall rules": self.rules - before.rules,
        }
        return {kind: sorted(items) for kind, items in leaked.items() if items}


def kernel_snapshot() -> KernelSnapshot:
    return KernelSnapshot(
        _links(), _mounts(), _cgroups(), _netns(), _processes(), _firewall_rules()
    )


def new_links(before: frozenset[str], root: Path) -> frozenset[str]:
    """Links of `root`'s networks made since `before`: its claimed bridges and the veths
    enslaved to them. Not every link made meanwhile: the suite runs tests in parallel (and
    people share machines), so another test's bridge would be counted against this one (seen
    under load in CI). A link that belongs to no data root at all is the session leak
    check's to find."""
    made = _links() - before
    from netdriver import owners

    state = (root / "networks").resolve()
    bridges = {b for b in owners.claimed() if owners.owner_of(b) in (state, root.resolve())}
    enslaved = set()
    for bridge in bridges:
        out = subprocess.run(["ip", "-br", "link", "show", "master", bridge],
                             capture_output=True, text=True, check=False)
        enslaved |= {line.split()[0].split("@")[0] for line in out.stdout.splitlines() if line}
    return frozenset(made & (bridges | enslaved))
