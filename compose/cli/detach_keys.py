"""Docker's detach keys (`--detach-keys`, default ctrl-p,ctrl-q): parsing the key list, and
spotting the sequence in what the user types so that it detaches instead of reaching the
container (bytes that only began the sequence are passed on once it breaks off)."""

from __future__ import annotations

from compose.errors import ComposeError

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL_SPECIALS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


class DetachKeysError(ComposeError):
    """A `--detach-keys` value docker would refuse."""


def _key_code(key: str, text: str) -> int:
    if len(key) == 1:
        return ord(key)
    name = key.lower()
    if name.startswith("ctrl-") and len(name) == 6:
        char = name[5]
        if "a" <= char <= "z":
            return ord(char) - ord("a") + 1
        if char in _CTRL_SPECIALS:
            return _CTRL_SPECIALS[char]
    raise DetachKeysError(f"invalid detach keys ({text}) provided: unknown character: {key!r}")


def parse_detach_keys(text: str) -> bytes:
    """`ctrl-p,ctrl-q` → b"\\x10\\x11": comma-separated single characters or ctrl-<a-z@[\\]^_>."""
    if not text:
        raise DetachKeysError("invalid detach keys () provided: empty")
    return bytes(_key_code(key, text) for key in text.split(","))


class DetachScanner:
    """Feed it what the user types; it returns what to pass on and whether the detach
    sequence has just been completed (then nothing after it is passed on)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""  # the start of the sequence seen so far, not passed on yet

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in data:
            candidate = self.held + bytes([byte])
            if self.keys.startswith(candidate):
                if candidate == self.keys:
                    self.held = b""
                    return bytes(out), True
                self.held = candidate
                continue
            out += self.held
            self.held = b""
            if self.keys[:1] == bytes([byte]):
                self.held = bytes([byte])
            else:
                out.append(byte)
        return bytes(out), False


def configured_detach_keys() -> bytes:
    """The detach keys of the docker CLI's config file (`detachKeys` in
    `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), which docker compose's `run`
    and docker's `attach` use when no flag names others; the default when it names none, or
    keys docker's CLI would warn about and replace by the default."""
    import json
    import os
    from pathlib import Path

    base = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        text = json.loads((Path(base) / "config.json").read_text()).get("detachKeys") or ""
    except (OSError, ValueError, AttributeError):
        text = ""
    try:
        return parse_detach_keys(str(text) or DEFAULT_DETACH_KEYS)
    except DetachKeysError:
        return parse_detach_keys(DEFAULT_DETACH_KEYS)
