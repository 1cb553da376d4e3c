"""Docker's human sizes (decimal units: 2.13MB), for image and container listings."""

from __future__ import annotations


def human_size(num: float) -> str:
    value = float(num)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}TB"
