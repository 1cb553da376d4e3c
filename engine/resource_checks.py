"""Docker's checks of a container's resource limits (its verifyPlatformContainerResources),
made at create: a limit the kernel would refuse, or that contradicts another, fails before a
record, a cgroup or a mount exists, naming the container and the option.

Docker's API reads 0 as "not set" for every limit here (the daemon's default, or no limit):
:func:`limit` is that reading, so `mem_limit: 0` means no limit rather than a cgroup that
allows 0 bytes (which killed the container at its first page).
"""

from __future__ import annotations

import os

from engine.containers import ContainerSpec
from engine.errors import InvalidArgumentError

MIN_MEMORY = 6 * 1024 * 1024  # Docker's floor: below it a process cannot even start
MIN_CPU_PERIOD, MAX_CPU_PERIOD = 1000, 1_000_000  # microseconds: 1ms .. 1s (CFS bounds)
MIN_CPU_QUOTA = 1000
MIN_BLKIO_WEIGHT, MAX_BLKIO_WEIGHT = 10, 1000


def limit(value: int | None) -> int | None:
    """A limit as Docker reads it: 0 is unset."""
    return None if value == 0 else value


def _bad(spec: ContainerSpec, key: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"container {spec.name}: {key}: {message}", subject=spec.name)


def check_memory(spec: ContainerSpec) -> None:
    memory, reservation = limit(spec.memory_limit), limit(spec.mem_reservation)
    swap = limit(spec.memswap_limit)
    for key, value in (("mem_limit", memory), ("mem_reservation", reservation)):
        if value is not None and value < 0:
            raise _bad(spec, key, f"must not be negative: {value}")
        if value is not None and value < MIN_MEMORY:
            raise _bad(spec, key, f"minimum memory allowed is 6MB (got {value} bytes)")
    if swap is not None and swap != -1:
        if memory is None:
            raise _bad(spec, "memswap_limit", "needs mem_limit to be set as well")
        if swap < memory:
            raise _bad(spec, "memswap_limit", f"must be at least mem_limit ({swap} < {memory})")
    if reservation is not None and memory is not None and reservation > memory:
        raise _bad(spec, "mem_reservation", "must be lower than mem_limit")
    swappiness = spec.mem_swappiness
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
        raise _bad(spec, "mem_swappiness", f"invalid value: {swappiness}, valid memory "
                   "swappiness range is 0-100")
    if spec.shm_size is not None and spec.shm_size < 0:
        raise _bad(spec, "shm_size", f"SHM size can not be less than 0 (got {spec.shm_size})")


def check_cpu(spec: ContainerSpec) -> None:
    cpus = spec.cpus or None  # 0: unset
    period, quota = limit(spec.cpu_period), limit(spec.cpu_quota)
    if cpus is not None:
        ncpu = os.cpu_count() or 1
        if not 0.01 <= cpus <= ncpu:
            raise _bad(spec, "cpus", f"range of CPUs is from 0.01 to {ncpu}.00, as there are "
                       f"only {ncpu} CPUs available")
        for key, value in (("cpu_period", period), ("cpu_quota", quota)):
            if value is not None and value > 0:
                raise _bad(spec, key, f"conflicting options: cpus and {key} cannot both be set")
    if spec.cpu_shares is not None and spec.cpu_shares < 0:
        raise _bad(spec, "cpu_shares", f"must not be negative: {spec.cpu_shares}")
    if period is not None and not MIN_CPU_PERIOD <= period <= MAX_CPU_PERIOD:
        raise _bad(spec, "cpu_period", f"CPU cfs period can not be less than 1ms (i.e. 1000) "
                   f"or larger than 1s (i.e. 1000000) (got {period})")
    if quota is not None and 0 < quota < MIN_CPU_QUOTA:
        raise _bad(spec, "cpu_quota", f"CPU cfs quota can not be less than 1ms (i.e. 1000) "
                   f"(got {quota})")


def check_blkio(spec: ContainerSpec) -> None:
    weight = limit(spec.blkio_weight)
    if weight is not None and not MIN_BLKIO_WEIGHT <= weight <= MAX_BLKIO_WEIGHT:
        raise _bad(spec, "blkio_config.weight", f"range of blkio weight is from 10 to 1000, "
                   f"or 0 for the default (got {weight})")


def check_resources(spec: ContainerSpec) -> None:
    check_memory(spec)
    check_cpu(spec)
    check_blkio(spec)
