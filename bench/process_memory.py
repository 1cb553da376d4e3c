"""What a process costs in memory, read from /proc/PID/smaps_rollup: PSS (shared pages split
among their sharers, the fair per-container figure), RSS, and USS (private pages only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Memory:
    pss: int  # kB
    rss: int
    uss: int

    @staticmethod
    def of(pid: int) -> Memory | None:
        fields: dict[str, int] = {}
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
                for line in handle:
                    key, _, rest = line.partition(":")
                    if key in ("Pss", "Rss", "Private_Clean", "Private_Dirty"):
                        fields[key] = int(rest.split()[0])
        except (OSError, ValueError):
            return None
        return Memory(fields.get("Pss", 0), fields.get("Rss", 0),
                      fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0))

    def __str__(self) -> str:
        return f"PSS {self.pss} kB  USS {self.uss} kB  RSS {self.rss} kB"
