"""Start a container's init process: namespaces, cgroup, rootfs, then exec.

Process tree:

    supervisor ──fork──> stage1: join cgroup, unshare(ns…), wait for "go", fork ──> init (pid 1)
stage1 stays as init's parent and mirrors its exit status: parent-death signals chain
(supervisor dies -> stage1 dies -> init dies), so a crashed supervisor never orphans a container.
The pause between unshare and fork is where the supervisor wires the network namespace
(/proc/<stage1>/ns/net) before any container code runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from engine import syscalls as sc
from engine.cgroups import Cgroup
from engine.rootfs import prepare_rootfs
from engine.runtime_spec import RuntimeSpec

NAMESPACES = sc.CLONE_NEWNS | sc.CLONE_NEWUTS | sc.CLONE_NEWIPC | sc.CLONE_NEWPID


class StartFailure(Exception):
    """The container's process could not be started; the message says which step failed."""


@dataclass(frozen=True)
class StartedProcess:
    init_pid: int
    stage1_pid: int
    stdout_fd: int
    stderr_fd: int


def _namespace_flags(spec: RuntimeSpec) -> int:
    flags = NAMESPACES | sc.CLONE_NEWCGROUP
    if spec.network_mode != "host":
        flags |= sc.CLONE_NEWNET
    return flags


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _close_fds_except(keep: set[int]) -> None:
    """The container must not inherit the supervisor's pipes (it would hold them open)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _exec_init(spec: RuntimeSpec, err_fd: int, stdout_w: int, stderr_w: int) -> None:
    """In init (pid 1 of the new pid namespace). Never returns: exec or _exit."""
    try:
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stdout_w, 1)
        os.dup2(stderr_w, 2)
        _close_fds_except({0, 1, 2, err_fd})
        socket.sethostname(spec.hostname)
        prepare_rootfs(spec)
        proc = spec.process
        os.setgroups(list(proc.extra_gids))
        os.setgid(proc.gid)
        os.setuid(proc.uid)
        env = dict(item.split("=", 1) for item in proc.env if "=" in item)
        try:
            os.chdir(proc.cwd or "/")
        except OSError as exc:
            raise StartFailure(f"working directory {proc.cwd}: {exc.strerror}") from exc
        for sig in range(1, signal.NSIG):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        try:
            os.execvpe(proc.args[0], list(proc.args), env)
        except OSError as exc:
            raise StartFailure(
                f'exec: "{proc.args[0]}": {exc.strerror or "executable file not found in $PATH"}'
            ) from exc
    except BaseException as exc:  # report every failure to the supervisor, then die
        message = str(exc) if isinstance(exc, StartFailure | OSError) else traceback.format_exc()
        os.write(err_fd, message.encode(errors="replace")[:4000])
        os._exit(127)


def _wait_exit_code(pid: int) -> int:
    """Mirror init's fate as an exit code the way Docker reports it (signal N -> 128+N)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)
        return os.WEXITSTATUS(status)


def _stage1(
    spec: RuntimeSpec, cgroup: Cgroup, sync_w: int, go_r: int, err_w: int, out_w: int, errw: int
) -> None:
    """Join the cgroup, enter new namespaces, wait for the network, fork init."""
    try:
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        cgroup.join(os.getpid())
        sc.unshare(_namespace_flags(spec))
        os.write(sync_w, b"R")
        if os.read(go_r, 1) != b"G":
            os._exit(1)
        pid = os.fork()
        if pid == 0:
            _exec_init(spec, err_w, out_w, errw)
        # Only init may hold the error pipe (closed by its exec) and the output pipes.
        for fd in (err_w, out_w, errw):
            os.close(fd)
        os.write(sync_w, struct.pack("<i", pid))
        os._exit(_wait_exit_code(pid))
    except BaseException as exc:
        os.write(err_w, f"{exc}".encode(errors="replace")[:4000])
        os._exit(1)


def start(spec: RuntimeSpec, cgroup: Cgroup, wire_network: Callable[[int], None]) -> StartedProcess:
    """Start init; `wire_network(stage1_pid)` runs while namespaces exist but nothing runs yet."""
    sync_r, sync_w = os.pipe()
    go_r, go_w = os.pipe()
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe()
    errs_r, errs_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (sync_r, go_w, err_r, out_r, errs_r):
            os.close(fd)
        _stage1(spec, cgroup, sync_w, go_r, err_w, out_w, errs_w)
    for fd in (sync_w, go_r, err_w, out_w, errs_w):
        os.close(fd)
    try:
        if os.read(sync_r, 1) != b"R":
            raise StartFailure(
                _read_all(err_r).decode(errors="replace") or "namespace setup failed"
            )
        wire_network(pid)
        os.write(go_w, b"G")
        raw = _read_exactly(sync_r, 4)
        if len(raw) != 4:
            raise StartFailure(_read_all(err_r).decode(errors="replace") or "init fork failed")
        init_pid = struct.unpack("<i", raw)[0]
        failure = _read_all(err_r).decode(errors="replace")
        if failure:
            raise StartFailure(failure.strip())
        return StartedProcess(init_pid, pid, stdout_fd=out_r, stderr_fd=errs_r)
    except BaseException:
        for fd in (out_r, errs_r):
            os.close(fd)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise
    finally:
        for fd in (sync_r, go_w, err_r):
            os.close(fd)
