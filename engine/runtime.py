"""Start a container's init process: namespaces, cgroup, rootfs, then exec.

Process tree:

    supervisor ──fork──> stage1: join cgroup, unshare(ns…), wait for "go", fork ──> init (pid 1)

The pause between unshare and fork is where the supervisor wires the network namespace
(/proc/<stage1>/ns/net) before any container code runs.

In a start-up helper (engine.supervisor_launch: restarts, a fork server's first start) the
helper is stage1 itself (`_start_in_place`): it makes and wires the network namespace, then
forks init straight into the supervisor's children (CLONE_PARENT), one Python process less per
start.

Any other first start has its cgroup and wired network namespace made by the start
server (engine.start_server, `make_network_namespace`), and the supervisor forks init itself
into a new pid namespace (`start_prepared`): init joins the cgroup and the network namespace,
makes its other namespaces and goes on as above. No stage1 at all.

With a private pid namespace, stage1 exits as soon as init exists: the supervisor is a child
subreaper, so init becomes its direct child (one Python process less per container, ~6 MB of
private memory). Init sets its parent-death signal only once the supervisor says it is the
parent (it would otherwise fire on stage1's exit), so a crashed supervisor never orphans a
container. With `pid: host`, orphans would reach the subreaper too, so there stage1 stays
init's parent and mirrors its exit status (supervisor dies -> stage1 dies -> init dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import signal
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine import capabilities, raw_fork, volume_mounts
from engine import syscalls as sc
from engine.cgroups import Cgroup, join_self
from engine.docker_init import init_process
from engine.init_process import run_as_init
from engine.processes import close_fds_except, read_to_eof, wait_exit_code
from engine.rlimits import rlimit_number
from engine.rootfs import prepare_rootfs
from engine.runtime_spec import ProcessSpec, Rlimit, RuntimeSpec

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import NoReturn

# container id -> the write end of an open-but-empty stdin (stdin_open), held until release().
_STDIN_KEEPERS: dict[str, int] = {}

# False in a start-up helper (engine.supervisor_launch): the helper's parent, the supervisor,
# is the subreaper that adopts init, and the helper exits once init runs.
ADOPT_INIT = True

NAMESPACES = sc.CLONE_NEWNS | sc.CLONE_NEWUTS | sc.CLONE_NEWIPC | sc.CLONE_NEWPID


class StartFailure(Exception):
    """The container's process could not be started; the message says which step failed."""


@dataclass(frozen=True)
class StartedProcess:
    """What the supervisor holds once a container's init exists: the pid to wait on for the
    container's exit status, and the read ends of its output to pump into the log."""

    init_pid: int
    stage1_pid: int
    stdout_fd: int
    stderr_fd: int  # -1 with a tty: one stream
    stage1_resident: bool = True  # False: stage1 is gone and init is the supervisor's child
    # A tty whose master went to an attached client too (`run -it`): our end of the client's
    # console socket, on which the client sends what it reads from the master. The log pump
    # logs that, and reads the master itself once the client closes it (it detached, or
    # ended): engine.supervisor.pump_logs.
    console_client: int = -1

    @property
    def exit_pid(self) -> int:
        """The child whose exit status is the container's (wait on this one)."""
        return self.stage1_pid if self.stage1_resident else self.init_pid


def _keeps_stage1(spec: RuntimeSpec) -> bool:
    return spec.pid_mode == "host"


def namespace_flags(spec: RuntimeSpec) -> int:
    flags = NAMESPACES | sc.CLONE_NEWCGROUP
    if spec.pid_mode == "host":
        flags &= ~sc.CLONE_NEWPID
    if spec.ipc_mode == "host" or spec.join_ipc_pid is not None:
        flags &= ~sc.CLONE_NEWIPC
    if spec.uts_mode == "host":  # Docker's `uts: host`: the host's hostname, none set
        flags &= ~sc.CLONE_NEWUTS
    if spec.cgroupns_mode == "host":
        flags &= ~sc.CLONE_NEWCGROUP
    if spec.network_mode != "host" and spec.join_netns_pid is None:
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


def _apply_rlimits(rlimits: tuple[Rlimit, ...]) -> None:
    for limit in rlimits:
        number = rlimit_number(limit.name)
        try:
            resource.setrlimit(number, (limit.soft, limit.hard))
        except (OSError, ValueError) as exc:
            raise StartFailure(
                f"ulimits: {limit.name}={limit.soft}:{limit.hard}: {exc} (raising a hard limit "
                "needs CAP_SYS_RESOURCE)"
            ) from exc


def _apply_oom_score_adj(value: int | None) -> None:
    if value is None:
        return
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as handle:
            handle.write(str(value))
    except OSError as exc:
        raise StartFailure(
            f"oom_score_adj {value}: {exc.strerror} (lowering it needs CAP_SYS_RESOURCE)"
        ) from exc


def apply_process_limits(spec: RuntimeSpec) -> None:
    """The container's `ulimits` and `oom_score_adj`, for its init and for every exec (as
    runc's exec copies the container's process settings)."""
    _apply_rlimits(spec.rlimits)
    _apply_oom_score_adj(spec.oom_score_adj)


def confine_process(spec: RuntimeSpec) -> None:
    """The first half of `restrict_process`, which a forked child inherits: the capability
    bounding set, no_new_privs and the seccomp filter (loaded while CAP_SYS_ADMIN is still
    effective, so it loads without no_new_privs)."""
    caps = spec.capabilities if spec.capabilities is not None else capabilities.DOCKER_DEFAULT
    capabilities.drop_bounding_set(caps)
    if spec.no_new_privs:
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
    if spec.seccomp and not spec.privileged:
        from engine.seccomp_profile import load_default_profile

        load_default_profile(caps)


def restrict_process(
    spec: RuntimeSpec,
    process: ProcessSpec,
    *,
    switch_user: bool = True,
    confined: bool = False,
) -> None:
    """Docker's order: bound the capabilities, no_new_privs, seccomp (`confine_process`; skip
    with `confined` when a parent did it before forking us), switch user, set the final sets."""
    caps = spec.capabilities if spec.capabilities is not None else capabilities.DOCKER_DEFAULT
    if not confined:
        confine_process(spec)
    uid = 0
    if switch_user:
        os.setgroups(list(process.extra_gids))
        os.setgid(process.gid)
        os.setuid(process.uid)
        uid = process.uid
    capabilities.apply_process_capabilities(caps, uid)


def exec_process(spec: RuntimeSpec, process: ProcessSpec, *, confined: bool = False) -> NoReturn:
    """Restrict, chdir, reset signals and exec; raises StartFailure when that fails."""
    parent = os.getppid()
    restrict_process(spec, process, confined=confined)
    if process.uid or process.gid:
        # Switching user cleared the parent-death signal: arm it again, and die now if the
        # parent went away in between (a dead supervisor must not leave the container running).
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
    env = dict(item.split("=", 1) for item in process.env if "=" in item)
    try:
        os.chdir(process.cwd or "/")
    except OSError as exc:
        raise StartFailure(f"working directory {process.cwd}: {exc.strerror}") from exc
    for sig in range(1, signal.NSIG):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        os.execvpe(process.args[0], list(process.args), env)
    except OSError as exc:
        raise StartFailure(
            f'exec: "{process.args[0]}": {exc.strerror or "executable file not found in $PATH"}'
        ) from exc


def _stay_as_init(spec: RuntimeSpec, child: int, err_fd: int) -> NoReturn:
    """`init: true`, in pid 1 after forking the command (both already confined): restrict
    ourselves like the container (still root, so we can signal any child), then forward
    signals and reap until it exits."""
    try:
        restrict_process(spec, spec.process, switch_user=False, confined=True)
    except BaseException as exc:
        os.write(err_fd, f"init: {exc}".encode(errors="replace")[:4000])
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        os._exit(127)
    os.close(err_fd)  # the command's exec closes its copy: then the supervisor sees EOF
    run_as_init(child)


def _attach_console(console_fd: int) -> None:
    """`tty: true`, in init after pivot_root: a pty of the container's own devpts (so the
    process sees /dev/pts/0, as under Docker) becomes its controlling terminal and stdio; the
    master goes to the supervisor over the console socket (runc's --console-socket)."""
    master, slave = os.openpty()
    os.setsid()
    fcntl.ioctl(slave, sc.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    with socket.socket(fileno=console_fd) as console:
        socket.send_fds(console, [b"M"], [master])
    os.close(master)


def _exec_init(
    spec: RuntimeSpec,
    err_fd: int,
    stdio: tuple[int, int, int],
    adopted_r: int = -1,
    console_fd: int = -1,
    unshare_flags: int = 0,
    cgroup: Cgroup | None = None,
) -> None:
    """In init (pid 1 of the new pid namespace). Never returns: exec or _exit. `cgroup`: one
    to move into first (started in place)."""
    try:
        parent = os.getppid()  # started in place: the supervisor, from birth (CLONE_PARENT)
        if adopted_r >= 0:
            # Wait until the supervisor has reaped stage1 and adopted us: a parent-death
            # signal set earlier would fire on stage1's exit. EOF: the supervisor is gone.
            # Started in place (`_start_in_place`): the helper's go (EOF: it died first).
            if os.read(adopted_r, 1) != b"P":
                os._exit(1)
            os.close(adopted_r)
        if cgroup is not None:  # before our cgroup namespace: rooted there
            cgroup.join_self()
        if unshare_flags:  # started in place: our own namespaces (cgroup: now that we are in it)
            sc.unshare(unshare_flags)
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        if unshare_flags and os.getppid() != parent:
            os._exit(1)  # the supervisor died before the death signal was armed
        null = os.open("/dev/null", os.O_RDWR)  # a tty's stdio only exists after pivot_root
        os.dup2(stdio[0] if stdio[0] >= 0 else null, 0)
        os.dup2(stdio[1] if stdio[1] >= 0 else null, 1)
        os.dup2(stdio[2] if stdio[2] >= 0 else null, 2)
        close_fds_except({0, 1, 2, err_fd, console_fd} - {-1})
        if spec.uts_mode != "host":
            socket.sethostname(spec.hostname)
        prepare_rootfs(spec)
        if console_fd >= 0:
            _attach_console(console_fd)
        apply_process_limits(spec)
        if spec.init and spec.init_binary:
            # Docker's way: tini (mounted by prepare_rootfs) is pid 1, confined like the command.
            exec_process(spec, init_process(spec.process, pid_1=spec.pid_mode != "host"))
        if spec.init:
            # The built-in init (no tini on the host, engine.init_process).
            # Confined once, before the fork: the command inherits the bounding set,
            # no_new_privs and the seccomp filter instead of building the filter again.
            confine_process(spec)
            child = os.fork()
            if child:
                _stay_as_init(spec, child, err_fd)
            sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        exec_process(spec, spec.process, confined=spec.init)
    except BaseException as exc:  # report every failure to the supervisor, then die
        if isinstance(exc, StartFailure | OSError):
            message = str(exc)
        else:  # a bug: the whole story (imported here: with linecache and tokenize, ~4 ms)
            import traceback

            message = traceback.format_exc()
        os.write(err_fd, message.encode(errors="replace")[:4000])
        os._exit(127)


def _join_shared_namespaces(spec: RuntimeSpec) -> None:
    """`ipc: container:X` and `network_mode: container:X/service:X` share X's namespace."""
    for pid, kind, flag in (
        (spec.join_ipc_pid, "ipc", sc.CLONE_NEWIPC), (spec.join_netns_pid, "net", sc.CLONE_NEWNET)
    ):
        if pid is not None:
            fd = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                sc.setns(fd, flag)
            finally:
                os.close(fd)


def _stage1(
    spec: RuntimeSpec,
    cgroup: Cgroup,
    sync_w: int,
    go_r: int,
    err_w: int,
    stdio: tuple[int, int, int],
    adopted_r: int = -1,
    console_fd: int = -1,
) -> None:
    """Join the cgroup, enter new namespaces, wait for the network, fork init."""
    try:
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        cgroup.join_self()
        _join_shared_namespaces(spec)
        flags = namespace_flags(spec)
        sc.unshare(flags)
        if flags & sc.CLONE_NEWNET:
            # Here, not over netlink from a helper process: a `none` container then needs no
            # network work at all, and a bridge attachment finds lo already up.
            sc.loopback_up()
        os.write(sync_w, b"R")
        if os.read(go_r, 1) != b"G":
            os._exit(1)
        pid = os.fork()
        if pid == 0:
            _exec_init(spec, err_w, stdio, adopted_r, console_fd)
        # Only init may hold the error pipe (closed by its exec) and the output pipes.
        for fd in {err_w, adopted_r, console_fd, *stdio} - {-1}:
            os.close(fd)
        os.write(sync_w, struct.pack("<i", pid))
        if not _keeps_stage1(spec):
            os._exit(0)  # init is re-parented to the supervisor (a child subreaper)
        os._exit(wait_exit_code(pid))
    except BaseException as exc:
        os.write(err_w, f"{exc}".encode(errors="replace")[:4000])
        os._exit(1)


def prewarm(spec: RuntimeSpec) -> None:
    """Import now what init needs after pivot_root, where the host's Python library is gone
    (the seccomp binding and libseccomp itself, codecs used by text-mode file writes)."""
    import array  # noqa: F401  (socket.send_fds imports it: a tty's console after pivot_root)
    import codecs

    codecs.lookup("ascii")
    codecs.lookup("utf-8")
    if spec.seccomp and not spec.privileged:
        from engine.seccomp_profile import compiled_profile

        caps = spec.capabilities if spec.capabilities is not None else capabilities.DOCKER_DEFAULT
        try:  # Docker's default set: compiled in the fork server already
            compiled_profile(caps)
        except (ImportError, OSError, RuntimeError) as exc:
            raise StartFailure(
                f"seccomp: the default profile needs the pyseccomp package and libseccomp "
                f"({exc}); install them, or run with security_opt: [seccomp=unconfined]"
            ) from exc


def start(spec: RuntimeSpec, cgroup: Cgroup, wire_network: Callable[[str], None]) -> StartedProcess:
    """Start init; `wire_network(netns_path)` runs while the container's network namespace
    exists but nothing runs in it yet.
    Volumes with driver_opts are mounted on the host first (the new mount namespace copies
    them); `release(spec)` gives them back when this run of the container has ended."""
    volume_mounts.acquire(spec.container_id, spec.volume_mounts)
    try:
        return _start(spec, cgroup, wire_network)
    except BaseException:
        release(spec)
        raise


def release(spec: RuntimeSpec) -> None:
    """This run is over: the last user of a mounted volume unmounts it (best effort: a mount
    left behind is undone by the next user's release or by removing the volume)."""
    keeper = _STDIN_KEEPERS.pop(spec.container_id, -1)
    if keeper >= 0:
        os.close(keeper)
    with contextlib.suppress(OSError):
        volume_mounts.release(spec.container_id, spec.volume_mounts)


@dataclass
class _Channels:
    """The container's output (pipes, or a console socket for a tty) and the error pipe
    init's exec closes; `init_fds` are the ends only init may keep."""

    err_r: int
    err_w: int
    out_r: int = -1
    errs_r: int = -1
    stdio: tuple[int, int, int] = (-1, -1, -1)
    console: socket.socket | None = None
    console_fd: int = -1
    console_client: int = -1  # the attached client's console socket, once it has the master

    @property
    def init_fds(self) -> set[int]:
        return {self.err_w, self.console_fd, *self.stdio} - {-1}

    @property
    def ours(self) -> set[int]:
        return {self.err_r, self.out_r, self.errs_r} - {-1}


def _open_channels(spec: RuntimeSpec) -> _Channels:
    channels = _output_channels(spec.tty)
    if spec.stdin_fifo and not spec.tty:
        channels.stdio = (_attached_stdin(spec.stdin_fifo), *channels.stdio[1:])
    elif spec.stdin_open and not spec.tty:
        # Docker's `-i` when detached: stdin stays open and empty (reads block, no EOF).
        stdin_r, stdin_w = _kept_fifo(spec.open_stdin_fifo) if spec.open_stdin_fifo else os.pipe()
        channels.stdio = (stdin_r, *channels.stdio[1:])
        _STDIN_KEEPERS[spec.container_id] = stdin_w
    return channels


def _kept_fifo(path: str) -> tuple[int, int]:
    """(read end, keeper) of the FIFO at `path`: the keeper is opened read-write, so the
    reader never sees an EOF however many writers (`attach`) come and go."""
    with contextlib.suppress(FileExistsError):
        os.mkfifo(path, 0o600)
    keeper = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(reader, True)
    return reader, keeper


def _attached_stdin(fifo: str) -> int:
    """The read end of the attached client's stdin (Docker's StdinOnce), or -1 (/dev/null).
    Opened without blocking: a client already gone (no writer) is an immediate EOF for the
    container, not a supervisor stuck in open(2)."""
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return -1
    os.set_blocking(fd, True)
    return fd


def _output_channels(tty: bool) -> _Channels:
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    if tty:
        # Init makes the pty in the container's devpts and sends us the master (the log reads
        # it); tty output is one stream, as in Docker.
        console, init_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return _Channels(err_r, err_w, console=console, console_fd=init_end.detach())
    out_r, out_w = os.pipe()
    errs_r, errs_w = os.pipe()
    return _Channels(err_r, err_w, out_r=out_r, errs_r=errs_r, stdio=(-1, out_w, errs_w))


def _await_exec(channels: _Channels, console_socket: str | None = None) -> int:
    """Wait until init has exec'd (the error pipe closes) or failed (it says why); the
    container's output descriptor (a tty's master comes over the console socket). A master
    sent on to the attached client's `console_socket` is kept too (`channels.console_client`
    says so): the container keeps its terminal when that client detaches or goes."""
    out_r = channels.out_r
    if channels.console is not None:
        _message, fds, _flags, _address = socket.recv_fds(channels.console, 16, 1)
        out_r = fds[0] if fds else -1  # none: init failed first (its error follows)
        channels.out_r = out_r
    failure = read_to_eof(channels.err_r).decode(errors="replace")
    if failure:
        raise StartFailure(failure.strip())
    if out_r < 0:
        raise StartFailure("tty: the container's terminal was not set up")
    if console_socket:
        channels.console_client = _hand_console(out_r, console_socket)
    return channels.out_r


def _hand_console(master: int, path: str) -> int:
    """Send the pty's master to the attached client listening on `path`; the connection
    (its descriptor), which the client closes once it lets go of the terminal, or -1 when the
    client is gone (the master is then logged, as a detached tty's)."""
    from engine.unix_paths import short_address

    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with short_address(path) as address:
            client.settimeout(5)
            client.connect(address)
            socket.send_fds(client, [b"M"], [master])
    except OSError:
        client.close()
        return -1
    client.setblocking(True)
    return client.detach()


def _close_all(fds: set[int]) -> None:
    for fd in fds - {-1}:
        with contextlib.suppress(OSError):
            os.close(fd)


def _start(
    spec: RuntimeSpec, cgroup: Cgroup, wire_network: Callable[[str], None]
) -> StartedProcess:
    prewarm(spec)
    if not ADOPT_INIT and not _keeps_stage1(spec) and raw_fork.can_fork_sibling():
        return _start_in_place(spec, cgroup, wire_network)
    keep_stage1 = _keeps_stage1(spec)
    adopted_r, adopted_w = (-1, -1) if keep_stage1 else os.pipe()
    if not keep_stage1 and ADOPT_INIT:
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    sync_r, sync_w = os.pipe()
    go_r, go_w = os.pipe()
    channels = _open_channels(spec)
    pid = os.fork()
    if pid == 0:
        keeper = _STDIN_KEEPERS.get(spec.container_id, -1)
        for fd in {sync_r, go_w, adopted_w, keeper, *channels.ours} - {-1}:
            os.close(fd)
        if channels.console is not None:
            channels.console.close()
        _stage1(spec, cgroup, sync_w, go_r, channels.err_w, channels.stdio, adopted_r,
                channels.console_fd)
    _close_all({sync_w, go_r, adopted_r, *channels.init_fds})
    init_pid = None
    try:
        if os.read(sync_r, 1) != b"R":
            raise StartFailure(
                read_to_eof(channels.err_r).decode(errors="replace") or "namespace setup failed"
            )
        wire_network(f"/proc/{pid}/ns/net")
        os.write(go_w, b"G")
        raw = _read_exactly(sync_r, 4)
        if len(raw) != 4:
            raise StartFailure(
                read_to_eof(channels.err_r).decode(errors="replace") or "init fork failed"
            )
        init_pid = struct.unpack("<i", raw)[0]
        if not keep_stage1:
            wait_exit_code(pid)  # stage1 is gone: init is our child now
            os.write(adopted_w, b"P")
        out_r = _await_exec(channels, spec.console_socket)
        return StartedProcess(
            init_pid, pid, stdout_fd=out_r, stderr_fd=channels.errs_r,
            stage1_resident=keep_stage1, console_client=channels.console_client,
        )
    except BaseException:
        _close_all({channels.out_r, channels.errs_r, channels.console_client})
        for child in (init_pid, pid):
            if child is None:
                continue
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
        raise
    finally:
        _close_all({sync_r, go_w, channels.err_r, adopted_w})
        if channels.console is not None:
            channels.console.close()


def _start_in_place(
    spec: RuntimeSpec, cgroup: Cgroup, wire_network: Callable[[str], None]
) -> StartedProcess:
    """In a start-up helper (engine.supervisor_launch), which exits once init runs: the
    helper itself is stage1, and one Python process per start (a fork, its page copies and
    its exit, ~10% of a 50-service `up`'s CPU) is saved.

    The network namespace is made first and wired from the host side while this process is
    back in the host's one; then init is forked into it and a new pid namespace as the
    supervisor's own child (CLONE_PARENT), so it needs no adoption. Init moves itself into
    the cgroup and makes its other namespaces itself: its pivot_root must not move our root
    (a mount namespace shared with us would), and this process never enters the container's
    cgroup, so a failed start can still remove it."""
    flags = namespace_flags(spec)
    host_netns = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    container_netns = -1
    in_container_netns = False
    go_r, go_w = os.pipe()
    channels = _open_channels(spec)
    init_pid = None
    try:
        if flags & sc.CLONE_NEWNET:
            container_netns = make_network_namespace(wire_network)
            sc.setns(container_netns, sc.CLONE_NEWNET)
            in_container_netns = True
        _join_shared_namespaces(spec)
        in_container_netns = in_container_netns or spec.join_netns_pid is not None
        if flags & sc.CLONE_NEWPID:  # for our child; the rest init makes itself
            sc.unshare(sc.CLONE_NEWPID)
        init_pid, placed = _fork_into(_v2_dir(cgroup.dirs()), raw_fork.CLONE_PARENT)
        if init_pid == 0:
            _close_all({host_netns, container_netns, go_w, *channels.ours})
            if channels.console is not None:
                channels.console.close()
            _exec_init(spec, channels.err_w, channels.stdio, go_r, channels.console_fd,
                       unshare_flags=flags & ~(sc.CLONE_NEWNET | sc.CLONE_NEWPID),
                       cgroup=None if placed else cgroup)
        _close_all({go_r, *channels.init_fds})
        go_r = -1
        os.write(go_w, b"P")  # init moves itself into the cgroup (`join_self`: no RCU wait)
        out_r = _await_exec(channels, spec.console_socket)
        return StartedProcess(init_pid, init_pid, stdout_fd=out_r, stderr_fd=channels.errs_r,
                              stage1_resident=False, console_client=channels.console_client)
    except BaseException:
        _close_all({channels.out_r, channels.errs_r, channels.console_client})
        if init_pid:  # the supervisor's child: it reaps it
            with contextlib.suppress(ProcessLookupError):
                os.kill(init_pid, signal.SIGKILL)
        if in_container_netns:  # what the caller undoes (the network) is in the host's
            sc.setns(host_netns, sc.CLONE_NEWNET)
        raise
    finally:
        _close_all({host_netns, container_netns, go_r, go_w, channels.err_r})
        if channels.console is not None:
            channels.console.close()


def _v2_dir(dirs: Sequence[str | Path]) -> str | None:
    """The container's cgroup directory when it is a cgroup v2 one (every v2 directory has a
    cgroup.controllers file), else None (v1: one directory per controller)."""
    if len(dirs) == 1 and os.path.exists(f"{dirs[0]}/cgroup.controllers"):
        return str(dirs[0])
    return None


def _fork_into(cgroup_dir: str | None, flags: int) -> tuple[int, bool]:
    """A raw fork (clone `flags`): (pid, placed). Into a v2 `cgroup_dir` the child is born
    there (clone3's CLONE_INTO_CGROUP: `placed`), with no move and so no wait for the RCU
    grace period a write to cgroup.procs costs; otherwise (v1, or a kernel before 5.7) it
    moves itself (`join_self`: through v1's `tasks`, free of that wait)."""
    if cgroup_dir is not None:
        fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return raw_fork.fork_into_cgroup(fd, flags), True
        except OSError:
            pass  # no clone3 or no CLONE_INTO_CGROUP here: fork, then move
        finally:
            os.close(fd)
    return raw_fork.fork_into(flags), False


def make_network_namespace(wire_network: Callable[[str], None]) -> int:
    """A new network namespace with lo up (done in it, so a `none` container needs no network
    work at all and a bridge attachment finds lo up), wired by `wire_network(path)` from the
    host's; its descriptor. The calling thread ends in the namespace it was in."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    made = -1
    try:
        sc.unshare(sc.CLONE_NEWNET)
        try:
            sc.loopback_up()
            made = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            sc.setns(home, sc.CLONE_NEWNET)
        wire_network(f"/proc/self/fd/{made}")
        return made
    except BaseException:
        _close_all({made})
        raise
    finally:
        os.close(home)


@dataclass(frozen=True)
class PreparedStart:
    """What the start server (engine.start_server) made for a first start: the supervisor
    forks init into it (`start_prepared`)."""

    spec_path: str
    netns_fd: int  # the container's network namespace; -1: none of its own (host, joined)
    cgroup_dirs: tuple[str, ...]
    tty: bool
    new_pid_ns: bool


def start_prepared(prepared: PreparedStart) -> StartedProcess:
    """In the supervisor: fork init, our own child, into the namespace and cgroup the start
    server made; return once it has exec'd. Init loads the runtime spec itself (its copied
    pages die with its exec: the supervisor stays small)."""
    channels = _output_channels(prepared.tty)
    lifeline_r, lifeline_w = os.pipe2(os.O_CLOEXEC)
    init_pid = None
    try:
        init_pid, placed = _fork_into(
            _v2_dir(prepared.cgroup_dirs), sc.CLONE_NEWPID if prepared.new_pid_ns else 0
        )
        if init_pid == 0:
            _close_all({lifeline_w, *channels.ours})
            if channels.console is not None:
                channels.console.close()
            _init_prepared(prepared, channels, lifeline_r, joined=placed)
        _close_all({lifeline_r, *channels.init_fds})
        out_r = _await_exec(channels)
        return StartedProcess(init_pid, init_pid, stdout_fd=out_r, stderr_fd=channels.errs_r,
                              stage1_resident=False)
    except BaseException:
        _close_all({channels.out_r, channels.errs_r})
        if init_pid:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(init_pid, signal.SIGKILL)
                os.waitpid(init_pid, 0)
        raise
    finally:
        _close_all({lifeline_r, lifeline_w, channels.err_r})
        if channels.console is not None:
            channels.console.close()


def _init_prepared(
    prepared: PreparedStart, channels: _Channels, lifeline_r: int, joined: bool
) -> None:
    """In init, forked by `start_prepared` (`joined`: born in the cgroup already): into the
    cgroup and namespaces, then as any init. Never returns."""
    try:
        # Armed first: the lifeline tells whether the supervisor died before (EOF: its end is
        # closed); the parent pid cannot, being 0 in a pid namespace of our own.
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        os.set_blocking(lifeline_r, False)
        with contextlib.suppress(BlockingIOError):
            if os.read(lifeline_r, 1) == b"":
                os._exit(1)
        os.close(lifeline_r)
        spec = RuntimeSpec.load(Path(prepared.spec_path))
        prewarm(spec)
        if not joined:
            join_self(prepared.cgroup_dirs)  # before our cgroup namespace: rooted there
        if prepared.netns_fd >= 0:
            sc.setns(prepared.netns_fd, sc.CLONE_NEWNET)
            os.close(prepared.netns_fd)
        _join_shared_namespaces(spec)
        unshare_flags = namespace_flags(spec) & ~(sc.CLONE_NEWNET | sc.CLONE_NEWPID)
    except BaseException as exc:
        os.write(channels.err_w, f"{exc}".encode(errors="replace")[:4000])
        os._exit(127)
    _exec_init(spec, channels.err_w, channels.stdio, console_fd=channels.console_fd,
               unshare_flags=unshare_flags)
