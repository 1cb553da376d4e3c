"""Run a process inside a running container (`docker exec`): setns into its namespaces.

Process tree:

    caller ──fork──> joiner: join cgroup, setns(cgroup, ipc, uts, net, pid, mnt), chroot
                        └──fork──> process (in the container's pid namespace): user, cwd, exec

setns(CLONE_NEWNS) refuses a multi-threaded caller and setns(CLONE_NEWPID) only affects
children, so the caller (which may have threads) never changes namespaces itself: a forked
single-threaded "joiner" does, then forks the real process and mirrors its exit status.
Every namespace file and the container's root directory are opened *before* fork, so a
vanished container fails in the caller with a clear error, and after entering the mount
namespace nothing needs the host's /proc any more.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import selectors
import signal
import struct
import termios
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine import syscalls as sc
from engine.cgroups import Cgroup
from engine.errors import EngineError, InvalidStateError
from engine.process_config import home_directory, resolve_user
from engine.processes import close_fds_except, is_alive, read_to_eof, wait_exit_code
from engine.runtime_spec import ProcessSpec, RuntimeSpec

# Join order matters: the mount namespace last (after it, host paths are gone); user namespaces
# are not used by the runtime.
NAMESPACES = (
    ("cgroup", sc.CLONE_NEWCGROUP),
    ("ipc", sc.CLONE_NEWIPC),
    ("uts", sc.CLONE_NEWUTS),
    ("net", sc.CLONE_NEWNET),
    ("pid", sc.CLONE_NEWPID),
    ("mnt", sc.CLONE_NEWNS),
)

EXIT_CANNOT_EXECUTE = 126  # Docker's codes when the command cannot be run
EXIT_NOT_FOUND = 127
_JOIN_FAILED = 125


class ExecError(EngineError):
    """The exec'd command could not be started; `exit_code` is Docker's (125, 126 or 127)."""

    def __init__(self, message: str, *, exit_code: int, subject: str | None = None) -> None:
        super().__init__(message, subject=subject)
        self.exit_code = exit_code


@dataclass(frozen=True)
class ExecTarget:
    """The running container to enter: its init's host pid (and start time against pid reuse)."""

    name: str
    init_pid: int
    init_start: int | None
    cgroup: Cgroup | None = None


@dataclass(frozen=True)
class ExecResult:
    """A command run to completion in a container (Docker's exec_run): a command that cannot be
    run comes back as Docker's exit code (125-127) with the reason after the output."""

    exit_code: int
    output: str


@dataclass(frozen=True)
class _Opened:
    """The target's namespace files and root directory, opened before fork: a vanished container
    fails in the caller, and the joiner needs no host /proc once in the mount namespace."""

    namespaces: tuple[tuple[int, int], ...]  # (fd, nstype)
    root_fd: int

    def close(self) -> None:
        for fd, _ in self.namespaces:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.close(self.root_fd)


def _open_target(target: ExecTarget) -> _Opened:
    if not is_alive(target.init_pid, target.init_start):
        raise InvalidStateError(f"container {target.name} is not running", subject=target.name)
    opened: list[tuple[int, int]] = []
    try:
        mine = os.readlink("/proc/self/ns/cgroup")
        for name, nstype in NAMESPACES:
            path = f"/proc/{target.init_pid}/ns/{name}"
            if name == "cgroup" and os.readlink(path) == mine:
                continue  # same namespace (old kernel or none made): setns would be a no-op
            opened.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), nstype))
        root_fd = os.open(
            f"/proc/{target.init_pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        )
    except OSError as exc:
        for fd, _ in opened:
            os.close(fd)
        raise InvalidStateError(
            f"container {target.name} is not running ({exc.strerror})", subject=target.name
        ) from exc
    return _Opened(tuple(opened), root_fd)


def _report_and_exit(err_fd: int, message: str, code: int) -> None:
    with contextlib.suppress(OSError):
        os.write(err_fd, f"{code} {message}".encode(errors="replace")[:4000])
    os._exit(code)


def _exec_process(spec: RuntimeSpec, process: ProcessSpec, err_fd: int, tty: bool) -> None:
    """In the container's namespaces and root. Never returns.

    The same restrictions as the container's init (capability bounding set, no_new_privs,
    seccomp, user) come from the runtime's own code: an exec must not be more privileged
    than the container it enters (Docker applies the container's profile to execs too)."""
    from engine.runtime import apply_process_limits, restrict_process

    try:
        if tty:  # the pty on fds 0-2 becomes the controlling terminal of a new session
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        apply_process_limits(spec)
        restrict_process(spec, process)
        try:
            os.chdir(process.cwd or "/")
        except OSError as exc:
            _report_and_exit(
                err_fd, f"chdir to cwd ({process.cwd!r}) failed: {exc.strerror}", _JOIN_FAILED
            )
        env = dict(item.split("=", 1) for item in process.env if "=" in item)
        for sig in range(1, signal.NSIG):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        try:
            os.execvpe(process.args[0], list(process.args), env)
        except FileNotFoundError:
            _report_and_exit(
                err_fd,
                f'exec: "{process.args[0]}": executable file not found in $PATH',
                EXIT_NOT_FOUND,
            )
        except OSError as exc:
            _report_and_exit(
                err_fd, f'exec: "{process.args[0]}": {exc.strerror}', EXIT_CANNOT_EXECUTE
            )
    except BaseException as exc:
        _report_and_exit(err_fd, f"exec setup failed: {exc}", _JOIN_FAILED)


def _prewarm(spec: RuntimeSpec) -> None:
    """Load, on the host, what the exec'd side would otherwise import lazily inside the
    container's root (where the host's Python library is not reachable)."""
    import codecs

    import engine.runtime  # noqa: F401  (loaded here: the exec side runs it in the container)

    codecs.lookup("ascii")
    if getattr(spec, "seccomp", False) and not getattr(spec, "privileged", False):
        from engine import capabilities
        from engine.seccomp_profile import compiled_profile

        given = getattr(spec, "capabilities", None)
        caps = given if given is not None else capabilities.DOCKER_DEFAULT
        with contextlib.suppress(ImportError, OSError, RuntimeError):  # reported when loaded
            compiled_profile(caps)


def _joiner(
    target: ExecTarget,
    opened: _Opened,
    spec: RuntimeSpec,
    process: ProcessSpec,
    stdio: tuple[int, int, int],
    err_fd: int,
    tty: bool,
    started_fd: int = -1,
) -> None:
    """Forked from the caller (single-threaded): enter the container, fork, mirror. Never
    returns. `started_fd` (close-on-exec) stays with the exec'd process alone: the caller
    sees it close when that process exec'd or gave up (`start_detached_exec`)."""
    try:
        # Ctrl-C reaches the whole foreground process group: the exec'd process decides what it
        # means; the joiner must stay to report its exit status.
        with contextlib.suppress(ValueError):  # forked from a non-main thread
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        for index, fd in enumerate(stdio):
            if fd != index:
                os.dup2(fd, index, inheritable=True)
            else:
                os.set_inheritable(fd, True)
        # Only the process's own stdio may stay open: a copy of the caller's pipe ends held here
        # would keep the exec'd process's stdin from ever seeing EOF.
        keep = {0, 1, 2, err_fd, started_fd, opened.root_fd, *(fd for fd, _ in opened.namespaces)}
        close_fds_except(keep)
        if target.cgroup is not None:
            target.cgroup.join_self()
        for fd, nstype in opened.namespaces:
            sc.setns(fd, nstype)
        # Entering a mount namespace leaves root and cwd at that namespace's root mount, not the
        # container's pivoted root: use the root opened through /proc before the switch.
        os.fchdir(opened.root_fd)
        os.chroot(".")
        os.chdir("/")
        opened.close()
        pid = os.fork()
        if pid == 0:
            _exec_process(spec, process, err_fd, tty)
        if started_fd >= 0:
            os.close(started_fd)
        os._exit(wait_exit_code(pid))
    except BaseException as exc:
        _report_and_exit(err_fd, f"cannot enter container {target.name}: {exc}", _JOIN_FAILED)


@dataclass
class RunningExec:
    """A started exec: `wait()` returns the exit code or raises `ExecError` if it never ran."""

    target: ExecTarget
    pid: int
    err_fd: int
    args: tuple[str, ...]

    def wait(self) -> int:
        try:
            code = wait_exit_code(self.pid)
            report = read_to_eof(self.err_fd).decode(errors="replace")
        finally:
            with contextlib.suppress(OSError):
                os.close(self.err_fd)
        if report:
            reported, _, message = report.partition(" ")
            raise ExecError(
                f"exec in container {self.target.name} failed: {message}",
                exit_code=int(reported) if reported.isdigit() else code,
                subject=self.target.name,
            )
        return code


def start_exec(
    target: ExecTarget,
    spec: RuntimeSpec,
    process: ProcessSpec,
    stdio: tuple[int, int, int],
    tty: bool = False,
    started_fd: int = -1,
) -> RunningExec:
    """Start `process` inside the container with the given stdin/stdout/stderr fds."""
    if not process.args:
        raise ExecError("exec needs a command", exit_code=_JOIN_FAILED, subject=target.name)
    _prewarm(spec)
    opened = _open_target(target)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
    except OSError:
        opened.close()
        os.close(err_r)
        os.close(err_w)
        raise
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(err_r)
        _joiner(target, opened, spec, process, stdio, err_w, tty, started_fd)
    opened.close()
    os.close(err_w)
    return RunningExec(target, pid, err_r, process.args)


def start_detached_exec(target: ExecTarget, spec: RuntimeSpec, process: ProcessSpec) -> None:
    """`exec -d`: start the process on /dev/null and return once it runs its command (Docker
    reports a command that cannot start even when detached); it goes on after we exit."""
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    started_r, started_w = os.pipe2(os.O_CLOEXEC)
    try:
        running = start_exec(target, spec, process, (null, null, null), started_fd=started_w)
    finally:
        os.close(null)
        os.close(started_w)
    try:
        read_to_eof(started_r)  # closed by its exec, or by its exit after a failure report
    finally:
        os.close(started_r)
    readable, _, _ = select.select([running.err_fd], [], [], 0)
    if readable:  # a report (it could not start) or the joiner gone: wait() says which
        running.wait()
        return
    os.close(running.err_fd)
    # The joiner stays to reap the command; a long-lived caller (the Stack API) reaps the
    # joiner in turn, so that no zombie is left behind it. A daemon thread: the CLI exits.
    threading.Thread(target=_reap_quietly, args=(running.pid,), daemon=True).start()


def _reap_quietly(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def run_exec(
    target: ExecTarget, spec: RuntimeSpec, process: ProcessSpec, stdin: bytes | None = None
) -> ExecResult:
    """Run to completion, capturing stdout and stderr interleaved (like Docker's exec_run)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        running = start_exec(target, spec, process, (in_r, out_w, out_w))
    except BaseException:
        for fd in (in_r, in_w, out_r, out_w):
            os.close(fd)
        raise
    os.close(in_r)
    os.close(out_w)
    output = b"".join(_pump(in_w, out_r, stdin or b""))
    try:
        code = running.wait()
    except ExecError as exc:
        return ExecResult(exc.exit_code, f"{output.decode(errors='replace')}{exc}\n")
    return ExecResult(code, output.decode(errors="replace"))


def _pump(in_w: int, out_r: int, data: bytes) -> Iterator[bytes]:
    """Feed stdin and collect output without deadlocking on either full pipe."""
    selector = selectors.DefaultSelector()
    os.set_blocking(in_w, False)
    if data:
        selector.register(in_w, selectors.EVENT_WRITE)
    else:
        os.close(in_w)
    selector.register(out_r, selectors.EVENT_READ)
    pending = memoryview(data)
    try:
        while selector.get_map():
            for key, _ in selector.select():
                if key.fd == out_r:
                    chunk = os.read(out_r, 65536)
                    if chunk:
                        yield chunk
                    else:
                        selector.unregister(out_r)
                        os.close(out_r)
                    continue
                try:
                    written = os.write(in_w, pending[:65536])
                except BrokenPipeError:
                    written = len(pending)
                pending = pending[written:]
                if not pending:
                    selector.unregister(in_w)
                    os.close(in_w)
    finally:
        for key in list(selector.get_map().values()):
            with contextlib.suppress(OSError):
                os.close(key.fd)
        selector.close()


def exec_process_for(
    spec: RuntimeSpec,
    init_pid: int,
    argv: list[str] | tuple[str, ...],
    *,
    env: dict[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
) -> ProcessSpec:
    """The container's own process settings (env, cwd, user) with the exec's overrides.

    A user name is looked up in the *running* container's /etc/passwd (through
    /proc/<init>/root), which is what the container itself would see."""
    merged = dict(item.split("=", 1) for item in spec.process.env if "=" in item)
    if user:
        root = [f"/proc/{init_pid}/root"]
        uid, gid = resolve_user(user, root)
        extra = spec.process.extra_gids  # group_add stays (Docker adds HostConfig.GroupAdd)
        if merged.get("HOME") == home_directory(spec.process.uid, root):
            merged["HOME"] = home_directory(uid, root)  # the exec user's, as runc sets it
    else:
        uid, gid, extra = spec.process.uid, spec.process.gid, spec.process.extra_gids
    merged.update(env or {})
    return ProcessSpec(
        args=tuple(argv),
        env=tuple(f"{k}={v}" for k, v in merged.items()),
        cwd=workdir or spec.process.cwd or "/",
        uid=uid,
        gid=gid,
        extra_gids=extra,
    )


# Linux's generic ioctl numbers (x86, arm, s390); elsewhere the fallback (a host pty) is used.
_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431


def open_container_pty(init_pid: int) -> tuple[int, int]:
    """A (master, slave) pty pair from the container's own devpts instance, as Docker does: the
    process then sees /dev/pts/N of its container. Falls back to a host pty."""
    root = f"/proc/{init_pid}/root/dev"
    try:
        master = os.open(f"{root}/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return os.openpty()
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0" * 4))[0]
        slave = os.open(f"{root}/pts/{number}", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        os.close(master)
        return os.openpty()
    return master, slave


def copy_window_size(from_fd: int, to_fd: int) -> None:
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(from_fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(to_fd, termios.TIOCSWINSZ, size)


def window_size_source(stdin_fd: int, stdout_fd: int) -> int:
    """Whose window size a relayed pty takes: the output terminal's, as docker's CLI (its
    Out().GetTtySize()), also when the input is not one (`--interactive=false`)."""
    return stdout_fd if os.isatty(stdout_fd) else stdin_fd


# What the caller types, before it reaches the pty: (what to pass on, whether the detach keys
# were just completed), as the CLI's detach-key scanner answers.
InputFilter = Callable[[bytes], tuple[bytes, bool]]


def relay_terminal(
    master: int, stdin_fd: int, stdout_fd: int, detach: InputFilter | None = None,
    tee: Callable[[bytes], None] | None = None,
) -> bool:
    """`relay_pty` with the caller's window size, now and whenever it changes (SIGWINCH; only
    the main thread may set the handler, elsewhere the size is copied once)."""
    sized = window_size_source(stdin_fd, stdout_fd)
    copy_window_size(sized, master)
    try:
        previous = signal.signal(signal.SIGWINCH, lambda *_: copy_window_size(sized, master))
    except ValueError:  # not the main thread
        return relay_pty(master, stdin_fd, stdout_fd, detach, tee)
    try:
        return relay_pty(master, stdin_fd, stdout_fd, detach, tee)
    finally:
        signal.signal(signal.SIGWINCH, previous)


def relay_pty(
    master: int, stdin_fd: int, stdout_fd: int, detach: InputFilter | None = None,
    tee: Callable[[bytes], None] | None = None,
) -> bool:
    """Copy the caller's input to the pty and the pty's output back (and to `tee`) until the
    process side closes it (EIO on the master once no slave is open), or until `detach` spots
    the detach keys in the input: True then (the process goes on, its terminal is someone
    else's)."""
    selector = selectors.DefaultSelector()
    selector.register(master, selectors.EVENT_READ)
    with contextlib.suppress(ValueError, OSError):
        selector.register(stdin_fd, selectors.EVENT_READ)
    try:
        while True:
            for key, _ in selector.select():
                if key.fd == master:
                    try:
                        data = os.read(master, 65536)
                    except OSError:  # EIO: the process and its children are gone
                        return False
                    if not data:
                        return False
                    _write_all(stdout_fd, data)
                    if tee is not None:
                        tee(data)
                    continue
                data = os.read(stdin_fd, 65536)
                if not data:
                    selector.unregister(stdin_fd)
                    continue
                detached = False
                if detach is not None:
                    data, detached = detach(data)
                if data:
                    _write_all(master, data)
                if detached:
                    return True
    finally:
        selector.close()


def keep_terminal(master: int) -> None:
    """An exec'd process's terminal once its client detached (`exec -it`, the detach keys):
    a process of its own, outside our session, holds the master and drains what the process
    prints (Docker's daemon discards a detached exec's output), so the process neither gets
    SIGHUP from the master's close nor blocks on a full terminal; it ends with the terminal's
    last process. Forked twice: nobody has to reap it."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setsid()
            if os.fork() == 0:
                for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE):
                    signal.signal(sig, signal.SIG_IGN)
                close_fds_except({master})
                _drain(master)
        finally:
            os._exit(0)
    wait_exit_code(pid)


def _drain(master: int) -> None:
    with contextlib.suppress(OSError):  # EIO: the terminal's last process is gone
        while os.read(master, 65536):
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
