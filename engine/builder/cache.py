"""The layer cache: step key → the manifest digest of the image after that step.

A key hashes the parent image's manifest digest, the instruction as executed (after variable
substitution, with the build args RUN sees) and its inputs (content hash of copied files), so
an unchanged rebuild hits every step and a changed COPY misses from there on. Entries live as
small files under ``<data root>/builder/cache/``; an entry whose blobs were garbage-collected
is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path

from engine.image_layout import write_file_atomic


def step_key(parent: str, *parts: str) -> str:
    return hashlib.sha256(json.dumps([parent, *parts]).encode()).hexdigest()


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.dir = root / "builder" / "cache"
        self.mounts_dir = root / "builder" / "cache-mounts"  # RUN --mount=type=cache dirs

    def get(self, key: str) -> str | None:
        with contextlib.suppress(OSError):
            value = (self.dir / key).read_text().strip()
            return value or None
        return None

    def put(self, key: str, manifest_digest: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_file_atomic(self.dir / key, manifest_digest.encode())

    def manifests(self) -> set[str]:
        """Manifest digests the cache points at (kept by ``image prune``)."""
        if not self.dir.is_dir():
            return set()
        out = set()
        for entry in self.dir.iterdir():
            with contextlib.suppress(OSError):
                out.add(entry.read_text().strip())
        return out

    def clear(self) -> int:
        """Forget every step and empty every cache mount (`image prune -a`, as `docker
        builder prune -a` does); returns the number of steps forgotten."""
        count = 0
        if self.dir.is_dir():
            for entry in self.dir.iterdir():
                entry.unlink(missing_ok=True)
                count += 1
        shutil.rmtree(self.mounts_dir, ignore_errors=True)
        return count
