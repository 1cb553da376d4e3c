"""`init: true` as Docker does it: the host's static tini, bind-mounted read-only at
/sbin/docker-init, runs as the container's pid 1 (`docker-init -- CMD...`).

tini forwards signals to the command, reaps zombies and exits with the command's status
(128+N after a signal), like the built-in Python init (engine.init_process), but it is one
exec instead of a resident forked Python process per container: less start-up CPU (no
copy-on-write faults) and a fraction of the memory. Where no tini exists on the host, the
engine keeps the built-in init.
"""

from __future__ import annotations

import os
from dataclasses import replace

from engine.runtime_spec import ProcessSpec

# Where Debian (package `tini`, and `docker.io`'s link to it) and Docker's own packages put a
# statically linked tini: it must run in any image, with or without a libc.
CANDIDATES: tuple[str, ...] = (
    "/usr/bin/tini-static",
    "/usr/bin/docker-init",
    "/usr/libexec/docker/docker-init",
)
# dockerd's --init-path: a path to use instead of the candidates; empty = the built-in init.
ENV_OVERRIDE = "PYCOMPOSE_INIT_PATH"
CONTAINER_PATH = "/sbin/docker-init"


def _usable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_init_binary() -> str | None:
    """The host's docker-init (symlinks resolved: the bind source), or None for the built-in
    init. Looked up each time a container starts, so installing tini needs no restart."""
    override = os.environ.get(ENV_OVERRIDE)
    candidates = CANDIDATES if override is None else (override,) if override else ()
    for candidate in candidates:
        if _usable(candidate):
            return os.path.realpath(candidate)
    from netdriver.debug_log import debug

    debug(__name__, "init: true: no docker-init among %s, using the built-in init", candidates)
    return None


def init_process(process: ProcessSpec, *, pid_1: bool) -> ProcessSpec:
    """The process to exec instead of the command: docker-init with the command after `--`,
    same user, env and working directory. Without a pid namespace of its own (`pid: host`)
    tini is not pid 1, so `-s` makes it a child subreaper: orphans still reach it."""
    flags = () if pid_1 else ("-s",)
    return replace(process, args=(CONTAINER_PATH, *flags, "--", *process.args))
