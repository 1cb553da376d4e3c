"""Segmentation-offload sizes for the veth pairs the driver creates.

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

BIG_TCP_IPV4_SIZE = 524_280
