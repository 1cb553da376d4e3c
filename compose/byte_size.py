"""Byte sizes as Compose writes them (`64m`, `1g`, `512k`, `1.5gb`, plain integers).

Units are binary (k = 1024), like docker's `RAMInBytes`, which is what mem_limit uses.
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
# Compiled on first use (re caches it): at import it cost every command ~0.4 ms.
_SIZE = r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$|^\s*(\d+(?:\.\d+)?)\s*(b)\s*$"


def parse_byte_size(value: int | float | str) -> int:
    """Bytes in `value`; raises ValueError with a readable message when it is not a size."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size: {value!r}")
    if isinstance(value, int | float):
        return int(value)
    match = re.match(_SIZE, value)
    if not match:
        raise ValueError(f"invalid size: {value!r}")
    number = match.group(1) or match.group(3)
    unit = (match.group(2) or "").lower()
    return int(float(number) * _UNITS[unit])
