"""Docker's human sizes (go-units): decimal units to 3 significant digits (2.13MB) for image,
container and I/O sizes; binary units to 4 (5.629MiB) for memory."""

from __future__ import annotations


def human_size(num: float) -> str:
    value = float(num)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}TB"


def binary_size(num: float) -> str:
    """go-units' BytesSize, as `docker stats` prints memory."""
    value = float(num)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            return f"{value:.4g}{unit}"
        value /= 1024
    return f"{value:.4g}EiB"
