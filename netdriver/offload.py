"""Segmentation-offload sizes and receive steering for the veth pairs the driver creates.

Why: container-to-container TCP on a bridge crosses two veths, the bridge and (with
br_netfilter) the iptables hooks once per packet *as the stack sees it*, so its cost per byte
is set by how big those packets are. With the kernel's default 64 KiB GSO/GRO limit that is
~16 traversals per MiB; IPv4 BIG TCP (Linux 6.3+, ``gso_ipv4_max_size``/``gro_ipv4_max_size``)
lets the sending container's TCP hand veth super-packets that cross the bridge whole.

Why the kernel's maximum (``GSO_MAX_SIZE``, 524280 on 64-bit, which is also veth's
``tso_max_size``) rather than the 185000 of the BIG TCP documentation's examples: that value
is sized for NICs, whose hardware must segment it again; veth never segments, so bigger is
cheaper all the way up. Measured here (iperf3 between two namespaces on one driver bridge,
sender+receiver CPU seconds per GB, min of 5 interleaved runs on a busy 2-core host):
64 KiB 0.41, 185000 0.205, 256 KiB 0.186, 384 KiB 0.170, 524280 0.164 (host loopback: 0.30).

The same size goes into the links' generic ``gso_max_size``/``gro_max_size``, which is what
IPv6 BIG TCP (Linux 5.19+) reads: on an ``enable_ipv6`` network, container-to-container TCP
over IPv6 went from 0.48 to 0.17 CPU s/GB in the same kind of runs (about 3x the throughput).
A kernel older than 5.19 refuses a generic size above 64 KiB, and the pair falls back to the
kernel's defaults for both families.

It changes nothing on the wire: a super-packet leaving through a device with a smaller limit
is segmented by the stack (or the NIC) to the MTU as usual, and the sender's TSO autosizing
still caps each packet by the peer's receive window. Kernels older than 6.3 ignore the
attributes (rtnetlink parses link attributes leniently), so this needs no feature probe; a
kernel whose veth accepts less refuses the size, and the link falls back to plain 64 KiB.
The bridge itself is left alone: it derives its limits from its ports, and it only carries
the host's own connections to containers, not bridged container-to-container traffic.
"""

from __future__ import annotations

import functools
import os

from netdriver.debug_log import debug

BIG_TCP_IPV4_SIZE = 524_280


# ---- receive steering ---------------------------------------------------------------------
# Why: veth has no receive queue of its own. A packet a container sends is queued on the
# per-CPU backlog of whichever CPU sent it, and a TCP sender transmits from two CPUs at once:
# its own syscalls, and the softirq that handles its ACKs (and, with BBR, its pacing timer).
# Two backlogs drained in parallel deliver one flow's packets out of order; the receiver's
# duplicate SACKs make the sender retransmit 512 KiB super-packets it had already delivered
# (~1500-2500 spurious segments per 3-4 s iperf3 run, all DSACKed), its rate estimate sinks,
# and it spends its time arming pacing timers (a VM exit each) with the CPUs half idle.
# A plain veth pair between two namespaces, no bridge at all, shows the same.
# Receive packet steering (RPS) on the host end of each pair hashes every flow to one CPU
# before the bridge sees it: one backlog per flow, in order (0 retransmits), and the bridging
# and receive work moves off the sending CPU. Measured (iperf3 between two namespaces on a
# driver bridge, 2-core VM, host otherwise idle, 5 interleaved runs): 20.0-24.9 Gbit/s
# without, 38.4-46.2 with, loopback 28.7-37.5; CPU per byte 0.36-0.41 s/GB without,
# 0.24-0.30 with. On a host busy with other work the gain shrinks to noise (the steered
# softirq competes with whatever runs on the chosen CPU). Nothing changes on the wire or in
# the rules, only which CPU runs the receive path; the container's own end is left alone.
# ``PYCOMPOSE_VETH_RPS=0`` turns it off (new attachments only), for A/B measurements.

_ONLINE = "/sys/devices/system/cpu/online"
_RESERVED = ("/sys/devices/system/cpu/isolated", "/sys/devices/system/cpu/nohz_full")


def _cpu_list(path: str) -> set[int]:
    """CPUs of a sysfs cpu list such as ``0-3,8``; empty if the file is missing or empty."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return set()
    cpus: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


@functools.cache
def steering_mask() -> str | None:
    """The ``rps_cpus`` bitmap for the driver's host links: the online CPUs that are not
    isolated (``isolcpus``, ``nohz_full``: steering work onto them would defeat the point),
    in sysfs's comma-separated 32-bit groups; None where fewer than two CPUs remain."""
    cpus = _cpu_list(_ONLINE) - set().union(*(_cpu_list(path) for path in _RESERVED))
    if len(cpus) < 2:
        return None
    bits = sum(1 << cpu for cpu in cpus)
    groups = []
    while bits:
        groups.append(f"{bits & 0xFFFFFFFF:08x}")
        bits >>= 32
    return ",".join(reversed(groups)).lstrip("0") or "0"


def steer_receive(ifname: str) -> bool:
    """Turn on receive packet steering for host link ``ifname`` (one sysfs write); False
    where it cannot be (a kernel without CONFIG_RPS, a read-only /sys, one usable CPU,
    ``PYCOMPOSE_VETH_RPS=0``): it is an optimisation, never a reason to fail an attach."""
    if os.environ.get("PYCOMPOSE_VETH_RPS") == "0":
        return False
    mask = steering_mask()
    if mask is None:
        return False
    try:
        with open(f"/sys/class/net/{ifname}/queues/rx-0/rps_cpus", "w", encoding="ascii") as f:
            f.write(mask)
    except OSError as exc:
        debug(__name__, "no receive steering on %s: %s", ifname, exc)
        return False
    return True
