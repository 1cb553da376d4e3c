"""Segmentation-offload sizes for the veth pairs the driver creates.

Why: container-to-container TCP on a bridge crosses two veths, the bridge and (with
br_netfilter) the iptables hooks and conntrack once per packet *as the stack sees it*. With
the kernel's default 64 KiB GSO/GRO limit that is ~20 traversals per MiB; IPv4 BIG TCP
(Linux 6.3+, ``gso_ipv4_max_size``/``gro_ipv4_max_size``) lets the sending container's TCP
hand veth ~185 KB super-packets that cross the bridge whole, so each hop's per-packet cost is
paid about three times less often. Measured here (bench/bench_network.py, same runs): bridge
throughput went from ~0.5 to ~1.0x+ of the host's loopback; Docker's bridge stays ~0.55.

It changes nothing on the wire: veth never segments, and a super-packet leaving through a
device with a smaller limit is segmented by the stack (or the NIC) to the MTU as usual.
185000 is the value the kernel's BIG TCP documentation and iproute2 examples use; above it
the gain flattens while more memory sits in one skb. Kernels older than 6.3 ignore the
attributes (rtnetlink parses link attributes leniently), so this needs no feature probe.
The bridge itself is left alone: it re-derives its limits from its ports, and it only carries
the host's own connections to containers, not bridged container-to-container traffic.
"""

from __future__ import annotations

BIG_TCP_IPV4_SIZE = 185_000
