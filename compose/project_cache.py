"""A cache of loaded projects, so a one-off `run` on an unchanged stack skips the loader.

Loading (YAML, interpolation, schema, extends/include, normalization) costs little per file but
its imports cost ~20 ms of CPU, a fifth of the CLI's share of `run --rm svc true`. The loaded
`Project` is pickled in the cache directory under a key made of everything given to the loader
(the global flags, the working directory, the whole environment) and of the code that loads
(compose's modules, the schema). Beside it are the inputs the load touched, recorded while it
ran: the content of every file it opened, the kind (file, directory, missing) of every path it
looked at and every symlink it read, which covers what discovery, `.env`, `env_file`, `extends`
and `include` depend on. A hit re-checks each of them; any difference, any read error, anything
unexpected, and the normal loader runs.

The pickle holds the project's environment (values from `.env` and `env_file` included): it is
written 0600 and read back only when owned by the same user.

A few variables change between one shell command and the next without meaning anything to a
stack: `_` (the command's path), `OLDPWD`, `SHLVL`, `SUDO_COMMAND` (the whole command line under
sudo, so `sudo pycompose ps` and `sudo pycompose run ...` would never share an entry), the SSH
and terminal session ids. They are left out of the key; instead, each one named anywhere in a
file the load read (as a whole word: `${OLDPWD}`, or `- OLDPWD` passed through from the host)
becomes an input whose value must match. A hit's `Project.environment` may then hold another
call's value of one the files never name (only COMPOSE_* entries are read from it).

Only successful loads are stored: a file with problems is loaded, and reported, in full every
time. Stdin (`-f -`) is never cached. A load that lists a directory is not cached (nothing it
does today does; if that changes, the cache steps aside rather than guess).
"""

from __future__ import annotations

import _pickle
import builtins
import contextlib
import io
import os
import re
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from compose.cache_dir import cache_root
from compose.discovery import OCI_PREFIX, STDIN
from compose.model import LoadOptions, Project
from compose.schema_file import schema_path
from engine import sha256_hex

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

FORMAT = 2
_ENTRY_LIMIT = 256
_SUBDIR = "project"
OCI_SUBDIR = "oci"  # compose.oci_remote's fetched projects, under the same cache root

# An input: ("open", path, sha256 hex or "" when it could not be read), ("stat" or "lstat",
# path, kind) where kind names what os.stat/os.lstat found, ("readlink", path, target), or
# ("env", name, "=value" or "unset") for a VOLATILE variable the stack's files name.
Input = tuple[str, str, str]

VOLATILE = frozenset({
    "_", "OLDPWD", "SHLVL", "SUDO_COMMAND", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY",
    "WINDOWID", "TERM_SESSION_ID", "XDG_SESSION_ID",
})
_VOLATILE_WORD = re.compile(
    rb"(?<![A-Za-z0-9_])(" + b"|".join(re.escape(n.encode()) for n in sorted(VOLATILE))
    + rb")(?![A-Za-z0-9_])"
)


def _code_fingerprint() -> bytes:
    """Names, sizes and mtimes of compose's modules and the schema: a changed loader, model
    or schema must not be answered by a project it would now load differently."""
    package = Path(__file__).parent
    parts = [sys.version, str(FORMAT)]
    with os.scandir(package) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    schema = schema_path()
    try:
        st = schema.stat()
        parts.append(f"{schema}:{st.st_size}:{st.st_mtime_ns}")
    except OSError:
        parts.append(f"{schema}:missing")
    return "\0".join(parts).encode()


def _key(options: LoadOptions) -> str:
    """Everything given to the loader, hashed. repr keeps types and order apart."""
    given = (
        options.files,
        options.project_name,
        str(options.project_directory) if options.project_directory is not None else None,
        options.env_files,
        options.profiles,
        str(options.cwd.absolute()),
        sorted(item for item in options.environ.items() if item[0] not in VOLATILE),
        options.interpolate,
        options.consistency,
        options.resolve_paths,
        options.resolve_env,
    )
    return sha256_hex(
        _code_fingerprint() + b"\0" + repr(given).encode("utf-8", "surrogateescape")
    )


_REAL_OPEN = io.open
_REAL_STAT = os.stat
_REAL_READLINK = os.readlink


def _content_hash(path: str) -> str:
    """sha256 of a file's bytes, "" when it cannot be read."""
    try:
        with _REAL_OPEN(path, "rb") as handle:
            return sha256_hex(handle.read())
    except (OSError, ValueError):
        return ""


def _stat_kind(path: str, follow: bool) -> str:
    try:
        mode = _REAL_STAT(path, follow_symlinks=follow).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except (OSError, ValueError) as exc:
        return f"error:{type(exc).__name__}"
    return str(stat.S_IFMT(mode))


def _link_target(path: str) -> str:
    try:
        return "=" + _REAL_READLINK(path)
    except (OSError, ValueError) as exc:
        return f"error:{type(exc).__name__}"


class _Recorder:
    """While a load runs in this thread: every path opened or stat'ed, and what was found.

    The file system functions pathlib and the loader use are wrapped for the duration (there is
    no other hook for stat(2)); calls from other threads pass straight through."""

    def __init__(self, cache: Path) -> None:
        self.thread = threading.get_ident()
        # Not the stack's inputs: the cache's own files (schema-ok), and the standard library's
        # and installed packages' (jsonschema lists and reads its metaschemas on first use).
        # Only those exact directories: a stack may well live elsewhere under sys.prefix.
        libraries = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
        prefixes = {str(cache), os.path.dirname(os.__file__), *libraries}
        self.ignore = tuple(os.path.join(p, "") for p in prefixes)
        self.remote = os.path.join(str(cache), OCI_SUBDIR, "")
        self.inputs: dict[tuple[str, str], str] = {}
        self.uncachable = False

    def _ours(self, path: Any) -> str | None:
        """The path as a string when this call is the load's and not about the cache itself."""
        if threading.get_ident() != self.thread or not isinstance(path, (str, bytes, os.PathLike)):
            return None
        name = os.fsdecode(path)
        if os.path.abspath(name).startswith(self.remote):
            self.uncachable = True  # a published project's files: only its registry knows
            return None  # whether the tag still names them, so such a load is never cached
        return None if os.path.abspath(name).startswith(self.ignore) else name

    def _open(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def opener(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            path = self._ours(file)
            if path is not None:
                if any(c in mode for c in "wax+"):
                    self.uncachable = True  # loading writes nothing; if it does, step aside
                elif ("open", path) not in self.inputs:
                    # hashed before the loader reads it: a change in between misses next time
                    self.inputs[("open", path)] = _content_hash(path)
            return real(file, mode, *args, **kwargs)

        return opener

    def _stat(self, real: Callable[..., Any], follow: bool) -> Callable[..., Any]:
        op = "stat" if follow else "lstat"

        def stat_(path: Any, *args: Any, **kwargs: Any) -> Any:
            name = self._ours(path)
            if name is not None:
                follows = follow and kwargs.get("follow_symlinks", True)
                key = ("stat" if follows else "lstat", name)
                if key not in self.inputs:
                    self.inputs[key] = _stat_kind(name, follows)
            return real(path, *args, **kwargs)

        stat_.__name__ = op
        return stat_

    def _readlink(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def readlink(path: Any, *args: Any, **kwargs: Any) -> Any:
            name = self._ours(path)
            if name is not None and ("readlink", name) not in self.inputs:
                self.inputs[("readlink", name)] = _link_target(name)
            return real(path, *args, **kwargs)

        return readlink

    def _listing(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def listing(path: Any = ".", *args: Any, **kwargs: Any) -> Any:
            if self._ours(path) is not None:
                self.uncachable = True
            return real(path, *args, **kwargs)

        return listing

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        saved = (io.open, builtins.open, os.stat, os.lstat, os.readlink, os.listdir, os.scandir)
        io.open = self._open(saved[0])
        builtins.open = self._open(saved[1])
        os.stat = self._stat(saved[2], True)
        os.lstat = self._stat(saved[3], False)
        os.readlink = self._readlink(saved[4])
        os.listdir = self._listing(saved[5])
        os.scandir = self._listing(saved[6])
        try:
            yield
        finally:
            (io.open, builtins.open, os.stat, os.lstat, os.readlink, os.listdir,
             os.scandir) = saved

    def recorded(self) -> tuple[Input, ...]:
        return tuple((op, path, found) for (op, path), found in sorted(self.inputs.items()))


def _env_value(environ: dict[str, str], name: str) -> str:
    return "=" + environ[name] if name in environ else "unset"


def _volatile_inputs(inputs: tuple[Input, ...], environ: dict[str, str]) -> tuple[Input, ...]:
    """("env", name, value) for each VOLATILE variable a file the load read names; all of them
    when a file cannot be read back (then nobody can say it names none)."""
    named: set[str] = set()
    schema = str(schema_path())  # the loader's own data (in the key), not the stack's
    for op, path, found in inputs:
        if op != "open" or not found or path == schema:
            continue  # "": unreadable when loaded, so it gave the load no names
        try:
            with _REAL_OPEN(path, "rb") as handle:
                named.update(m.decode() for m in _VOLATILE_WORD.findall(handle.read()))
        except (OSError, ValueError):
            named = set(VOLATILE)
            break
    return tuple(("env", name, _env_value(environ, name)) for name in sorted(named))


def _unchanged(inputs: tuple[Input, ...], environ: dict[str, str]) -> bool:
    for op, path, found in inputs:
        if op == "env":
            now = _env_value(environ, path)
        elif op == "open":
            now = _content_hash(path)
        elif op == "readlink":
            now = _link_target(path)
        else:
            now = _stat_kind(path, op == "stat")
        if now != found:
            return False
    return True


def _entry_path(directory: Path, key: str) -> Path:
    return directory / _SUBDIR / key


def _lookup(directory: Path, key: str, environ: dict[str, str]) -> Project | None:
    """The cached project when its entry is ours, well-formed and every input unchanged."""
    path = _entry_path(directory, key)
    try:
        with _REAL_OPEN(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_uid != os.geteuid():
                return None  # only trust what this user wrote
            entry = _pickle.load(handle)  # the C unpickler alone: pickle.py costs ~1.5 ms
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or foreign entry (unpickling can raise anything): load normally
        return None
    if not (isinstance(entry, tuple) and len(entry) == 3 and entry[0] == FORMAT):
        return None
    _, inputs, project = entry
    try:
        fresh = isinstance(project, Project) and _unchanged(inputs, environ)
    except (TypeError, ValueError):  # a malformed input list
        return None
    return project if fresh else None


def _store(directory: Path, key: str, inputs: tuple[Input, ...], project: Project) -> None:
    """Best effort, atomically (temp file + rename): a cache that cannot be written only
    means loading again next time."""
    import pickle

    folder = directory / _SUBDIR
    try:
        data = pickle.dumps((FORMAT, inputs, project), protocol=pickle.HIGHEST_PROTOCOL)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        names = os.listdir(folder)
        if len(names) >= _ENTRY_LIMIT:  # bounded: start over rather than track ages
            for name in names:
                with contextlib.suppress(OSError):
                    os.unlink(folder / name)
        temp = folder / f".{key}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, folder / key)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return


def load_cached(options: LoadOptions) -> Project:
    """The project `options` describe, as compose.loader.load_project returns it (and raises
    its errors), from the cache when nothing it was built from has changed."""
    directory = cache_root()
    if directory is None or STDIN in options.files or _names_remote(options):
        return _load(options)
    try:
        key = _key(options)
    except (OSError, ValueError):
        return _load(options)
    project = _lookup(directory, key, options.environ)
    if project is not None:
        return project
    recorder = _Recorder(directory.absolute())
    with recorder.active():
        project = _load(options)
    if recorder.uncachable or Path(STDIN) in project.config_files:
        return project
    inputs = recorder.recorded()
    _store(directory, key, inputs + _volatile_inputs(inputs, options.environ), project)
    return project


def _names_remote(options: LoadOptions) -> bool:
    """`-f oci://…` (or in COMPOSE_FILE): resolved on every load, never from the cache."""
    given = (*options.files, options.environ.get("COMPOSE_FILE") or "")
    return any(OCI_PREFIX in name for name in given)


def _load(options: LoadOptions) -> Project:
    from compose.loader import load_project

    return load_project(options)
