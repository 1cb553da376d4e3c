"""SHA-256 for small inputs (config hashes, cache keys, names) without loading OpenSSL.

`import hashlib` loads OpenSSL's libcrypto (~2-4 ms), a noticeable part of a one-off `run`'s
start-up, which only hashes a few hundred bytes. CPython's own implementation is in a small
extension module (`_sha256` in 3.11, `_sha2` from 3.12); hashlib serves as the fallback. Large
data (image layers) keeps going through hashlib, whose OpenSSL code is much faster per byte.
"""

from __future__ import annotations

try:
    from _sha256 import sha256
except ImportError:  # Python >= 3.12
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256"]
