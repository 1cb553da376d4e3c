"""Client side of the embedded resolver: start it on demand, make it serve, nudge it to leave.

The resolver's control socket is an abstract unix socket named after the data root: no
file to clean up after a crash, no path-length limit, and its name is free the moment the
process dies — so "cannot connect" reliably means "not running".
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

try:  # CPython's own SHA-256: hashlib's would map OpenSSL (3.4 MB) into the fork server, and so
    from _sha256 import sha256  # into every supervisor and the resolver (same digests)
except ImportError:  # pragma: no cover - other Pythons (3.12 names it _sha2)
    from hashlib import sha256

from engine.atomic_files import locked
from engine.errors import UnavailableError
from engine.layout import Layout

SYNC_DEADLINE_SECONDS = 5.0


def control_address(root: Path) -> str:
    digest = sha256(str(Path(root).resolve()).encode()).hexdigest()[:24]
    return f"\0pycompose-dns-{digest}"


def lock_path(layout: Layout) -> Path:
    return layout.locks / "dns.lock"


def _request(root: Path, command: str, wait_reply: bool) -> str | None:
    """Send one command; None if no resolver is listening."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(SYNC_DEADLINE_SECONDS)
        try:
            conn.connect(control_address(root))
        except (ConnectionRefusedError, FileNotFoundError):
            return None
        conn.sendall(command.encode() + b"\n")
        if not wait_reply:
            return ""
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
        return b"".join(chunks).decode(errors="replace")


def _env() -> dict[str, str]:
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return env


def _command(root: Path) -> list[str]:
    return [sys.executable, "-m", "engine.dns_server", str(root)]


FORK_FROM_SPAWNER = True
"""Start the resolver from this process's supervisor fork server (engine.supervisor_zygote):
forked from the image the supervisors share, it costs ~1-2 MB private instead of the ~9-12 MB
of a Python of its own. The fork server sets it False in itself and so in every supervisor:
there a spawner would start a fork server of its own, dearer than the plain process."""


def _spawn(root: Path) -> None:
    if FORK_FROM_SPAWNER:
        from engine.supervisor_spawner import SPAWNER

        if SPAWNER.start_resolver(root):
            return  # listening: connections queue until the resolver accepts them
    # The child binds the control socket, then forks the real resolver and exits: once wait()
    # returns, the name is bound and connections queue until the resolver accepts them.
    subprocess.run(
        _command(root),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=_env(), check=False, timeout=60,
    )


def resolver_running(root: Path) -> bool:
    """Whether a resolver answers on the root's control socket (the bind there admits one)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(control_address(root))
        except OSError:
            return False
    return True


def start_resolver_soon(root: Path) -> None:
    """Start the root's resolver if none runs, without waiting for it (a network was just made).

    The first container then finds it serving instead of paying its start. Racing starters
    are harmless: the control socket's bind lets one resolver live, the others exit at once.
    A daemon thread waits for the starter (it exits as soon as the resolver has forked off),
    so no zombie is left; if this process ends first, the detached resolver lives on.
    """
    if resolver_running(root):
        return
    threading.Thread(target=_spawn_quietly, args=(root,), name="dns-start", daemon=True).start()


def _spawn_quietly(root: Path) -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        _spawn(root)


def ensure_resolver(layout: Layout, gateways: Iterable[str]) -> None:
    """Make sure the root's resolver runs and answers on every one of ``gateways``."""
    wanted = set(gateways)
    if not wanted:
        return
    deadline = time.monotonic() + SYNC_DEADLINE_SECONDS
    with locked(lock_path(layout)):
        served: set[str] = set()
        while True:
            reply = _request(layout.root, "sync", wait_reply=True)
            if reply is None:
                _spawn(layout.root)
                reply = _request(layout.root, "sync", wait_reply=True)
            if reply is not None and reply.startswith("ok"):
                served = set(reply.split()[1:])
                if wanted <= served:
                    return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)  # the gateway address may still be busy on a stale socket
    missing = sorted(wanted - served)
    holders = "; ".join(_udp_holders(missing)) or "unknown"
    raise UnavailableError(
        f"the DNS resolver could not listen on {', '.join(missing)}:53 (held by: {holders})",
        subject=", ".join(missing), hint="another program may use port 53 on that address",
    )


def _udp_holders(addresses: Iterable[str]) -> list[str]:
    """Processes holding UDP port 53 on ``addresses`` (for the error message; best effort)."""
    wanted = set()
    for address in addresses:
        packed = socket.inet_aton(address)[::-1].hex().upper()  # /proc/net/udp byte order
        wanted.add(f"{packed}:0035")
    inodes = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] in wanted:
                inodes.add(f"socket:[{fields[9]}]")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                    found.append(f"pid {pid} {cmd.decode(errors='replace').strip()}")
                    break
    return found


def nudge_resolver(layout: Layout) -> None:
    """Tell the resolver endpoints went away: it reloads, and exits if nothing needs it."""
    with contextlib.suppress(OSError):
        _request(layout.root, "check", wait_reply=False)
