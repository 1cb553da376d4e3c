"""`load_project`: from CLI options to a validated, normalized, typed Project.

Order matters and follows docker compose: environment (.env) → file discovery → project name
(so `${COMPOSE_PROJECT_NAME}` sees the final name) → per file: interpolate, validate, extends,
include, merge → normalize → profiles → cross-key checks → typed model.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compose.discovery import STDIN, discover
from compose.dotenv import chain_lookup, read_dotenv
from compose.errors import ComposeError, ComposeFileError, ComposeFileNotFoundError, Problem
from compose.extends import apply_extends
from compose.include import apply_include
from compose.interpolation import interpolate_tree
from compose.merge import merge_documents, strip_markers
from compose.model import LoadOptions, Project
from compose.model_builder import build_project
from compose.normalize import normalize_project, normalize_service
from compose.paths import absolute, resolve_section_files
from compose.project_name import normalize_project_name, validate_project_name
from compose.validation import cross_problems, schema_problems
from compose.volume_options import resolve_bind_devices
from compose.yaml_source import Document, Locations, parse_documents

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


def _not_utf8(exc: UnicodeDecodeError, name: str) -> Problem:
    """A stack file must be UTF-8 (YAML's and compose's rule): say where it is not, by line,
    instead of Python's codec message with a byte offset."""
    data = exc.object
    line = bytes(data[: exc.start]).count(b"\n") + 1
    return Problem(f"yaml: invalid UTF-8 byte 0x{data[exc.start]:02x} (the file must be UTF-8)",
                   name, line)


@dataclass
class _Reader:
    """Reads and caches stack files (stdin at most once)."""

    cache: dict[str, list[Document]] = field(default_factory=dict)

    def documents(self, name: str) -> list[Document]:
        if name not in self.cache:
            if name == STDIN:
                text, label = sys.stdin.read(), "-"
            else:
                try:
                    text = Path(name).read_text(encoding="utf-8")
                except FileNotFoundError:
                    raise ComposeFileNotFoundError(
                        f"open {name}: no such file or directory") from None
                except UnicodeDecodeError as exc:
                    raise ComposeFileError([_not_utf8(exc, name)]) from None
                except OSError as exc:
                    problem = Problem(f"cannot read file: {exc.strerror or exc}", name)
                    raise ComposeFileError([problem]) from None
                label = name
            self.cache[name] = parse_documents(text, label)
        return self.cache[name]


@dataclass
class _Model:
    """The merged (not yet normalized) model of one project or included sub-project."""

    data: dict[str, Any]
    locations: Locations


def _interpolated(
    doc: Document, env: Mapping[str, str], unset: set[str] | None = None,
    interpolate: bool = True,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The document's data interpolated (unless `interpolate` is False) and schema-checked."""
    if doc.data is None:
        return None, []
    if not isinstance(doc.data, dict):
        loc = doc.locations.find(())
        return None, [Problem("top-level object must be a mapping", doc.file,
                              loc.line if loc else None)]
    data: Any = doc.data
    problems: list[Problem] = []
    if interpolate:
        data, problems = interpolate_tree(
            doc.data, chain_lookup(env), doc.locations, unset=unset)
    problems += schema_problems(strip_markers(data), doc.locations, doc.file)
    return data, problems


class _Loading:
    """One load: the reader cache, the environment, the include stack."""

    def __init__(self, reader: _Reader, interpolate: bool = True) -> None:
        self.reader = reader
        self.interpolate = interpolate
        self.unset: set[str] = set()  # variables referenced without a default, not set
        self.obsolete_version: list[str] = []  # files with the `version` attribute

    def read_services(self, env: Mapping[str, str]) -> Any:
        def read(path: Path) -> dict[str, Any]:
            parsed: list[dict[str, Any]] = []
            problems: list[Problem] = []
            for doc in self.reader.documents(str(path)):
                data, probs = _interpolated(doc, env, self.unset, self.interpolate)
                problems += probs
                if data is not None and not probs:
                    parsed.append(dict(data.get("services") or {}))
            if problems:
                raise ComposeFileError(problems)
            if len(parsed) == 1:
                # Keep `!reset`/`!override` so they apply to the service being extended.
                return parsed[0]
            merged: dict[str, Any] = {}
            for services in parsed:
                merged = merge_documents(merged, {"services": services})
            return dict(merged.get("services") or {})

        return read

    def model(
        self, files: tuple[str, ...], project_dir: Path, env: dict[str, str],
        stack: tuple[str, ...],
    ) -> _Model:
        """Read, interpolate, validate, extend, include and merge `files`."""
        data: dict[str, Any] = {}
        locations = Locations()
        problems: list[Problem] = []
        for name in files:
            docs = self.reader.documents(name)
            if not any(d.data is not None for d in docs):
                problems.append(Problem("empty compose file", name))
                continue
            for doc in docs:
                if isinstance(doc.data, dict) and "version" in doc.data:
                    self.obsolete_version.append(name)
                parsed, probs = _interpolated(doc, env, self.unset, self.interpolate)
                problems += probs
                if parsed is None or probs:
                    continue
                try:
                    parsed = self._expand(parsed, name, project_dir, env, (*stack, name))
                except ComposeFileError as exc:
                    problems += exc.problems
                    continue
                included_models = parsed.pop("_included", [])
                problems += _import_conflicts(
                    parsed, included_models, project_dir, env, doc.locations, name)
                for included in included_models:
                    data = merge_documents(data, included.data)
                    locations.update(included.locations)
                data = merge_documents(data, parsed)
                locations.update(doc.locations)
        if problems:
            raise ComposeFileError(problems)
        return _Model(data, locations)

    def _expand(
        self, parsed: dict[str, Any], name: str, project_dir: Path, env: dict[str, str],
        stack: tuple[str, ...],
    ) -> dict[str, Any]:
        parsed = dict(parsed)
        if isinstance(parsed.get("services"), dict):
            parsed["services"] = apply_extends(
                parsed["services"], name, project_dir, self.read_services(env))
        entries = parsed.pop("include", None) or []
        if entries:
            parsed["_included"] = apply_include(
                entries, project_dir, env, stack,
                lambda fs, pd, e, st: self.sub_project(fs, pd, e, st),
            )
        return parsed

    def sub_project(
        self, files: tuple[Path, ...], project_dir: Path, env: dict[str, str],
        stack: tuple[str, ...],
    ) -> _Model:
        """An included project, with its services normalized against its own directory."""
        model = self.model(tuple(str(f) for f in files), project_dir, env, stack)
        services, problems = _normalize_services(model.data, project_dir, env, model.locations)
        if problems:
            raise ComposeFileError(problems)
        data = dict(model.data)
        data["services"] = services
        data.pop("name", None)
        for section in ("configs", "secrets"):
            if isinstance(data.get(section), dict):
                data[section] = resolve_section_files(data[section], project_dir)
        if isinstance(data.get("volumes"), dict):  # `o: bind` devices, as compose-go does
            data["volumes"] = resolve_bind_devices(data["volumes"], project_dir)
        return _Model(data, model.locations)


_IMPORTED = ("services", "volumes", "networks", "secrets", "configs")


def _comparable(
    section: str, name: str, item: Any, project_dir: Path, env: Mapping[str, str]
) -> Any:
    """A definition of the including file in the shape an included project's has (normalized,
    paths resolved), so that two identical definitions compare equal."""
    item = strip_markers(item)
    if section == "services":
        return normalize_service(name, item, project_dir, chain_lookup(env))[0]
    if section in ("configs", "secrets"):
        return resolve_section_files({name: item}, project_dir)[name]
    if section == "volumes" and isinstance(item, dict):
        return resolve_bind_devices({name: item}, project_dir)[name]
    return item


def _import_conflicts(
    parsed: dict[str, Any], included: list[_Model], project_dir: Path, env: Mapping[str, str],
    locations: Locations, file: str,
) -> list[Problem]:
    """compose-go's importResources: a resource an included project defines may not be defined
    again (differently) by the including file or by another include; it is not merged."""
    problems: list[Problem] = []
    for section in _IMPORTED:
        value = parsed.get(section)
        own: dict[str, Any] = value if isinstance(value, dict) else {}
        seen: dict[str, Any] = {}
        for model in included:
            for name, item in (model.data.get(section) or {}).items():
                if name in own:
                    other = _comparable(section, name, own[name], project_dir, env)
                    where = locations.find((section, name))
                elif name in seen:
                    other = seen[name]
                    where = model.locations.find((section, name))
                else:
                    seen[name] = item
                    continue
                if other != item:
                    problems.append(Problem(
                        f"{section}.{name} conflicts with imported resource",
                        where.file if where else file, where.line if where else None,
                        f"{section}.{name}"))
    return problems


def _key_parts(key: str) -> tuple[str | int, ...]:
    """`ports[1].target` -> ("ports", 1, "target"): the inverse of yaml_source.format_key."""
    parts: list[str | int] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(parts)


def _normalize_services(
    data: dict[str, Any], project_dir: Path, env: Mapping[str, str],
    locations: Locations | None = None, *, resolve_paths: bool = True, resolve_env: bool = True,
) -> tuple[dict[str, Any], list[Problem]]:
    services: dict[str, Any] = {}
    problems: list[Problem] = []
    lookup = chain_lookup(env)
    for name, svc in (data.get("services") or {}).items():
        services[name], probs = normalize_service(
            name, svc, project_dir, lookup, resolve_paths=resolve_paths, resolve_env=resolve_env
        )
        for problem in probs:
            # normalize_service names the key; the side table knows where it was written.
            prefix = f"services.{name}."
            rest = problem.key[len(prefix):] if problem.key and problem.key.startswith(prefix) \
                else ""
            loc = locations.find(("services", name, *_key_parts(rest))) \
                if locations and rest else None
            problems.append(Problem(problem.message, loc.file if loc else None,
                                    loc.line if loc else None, problem.key))
    return services, problems


_GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
             "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def _env_file_names(options: LoadOptions) -> tuple[str, ...]:
    """`--env-file` files, else docker compose's `COMPOSE_ENV_FILES` (comma-separated)."""
    if options.env_files:
        return options.env_files
    value = options.environ.get("COMPOSE_ENV_FILES") or ""
    return tuple(name for name in value.split(",") if name)


def _default_env_file_disabled(environ: Mapping[str, str]) -> bool:
    """`COMPOSE_DISABLE_ENV_FILE`, read as Go's strconv.ParseBool reads it (compose-go does)."""
    value = environ.get("COMPOSE_DISABLE_ENV_FILE")
    if value is None:
        return False
    if value not in _GO_BOOLS:
        raise ComposeError(
            f'COMPOSE_DISABLE_ENV_FILE: strconv.ParseBool: parsing "{value}": invalid syntax',
            hint="set it to true or false")
    return _GO_BOOLS[value]


def _dotenv(options: LoadOptions, directory: Path) -> dict[str, str]:
    """`--env-file`/`COMPOSE_ENV_FILES` files (later wins), else `<dir>/.env` unless
    `COMPOSE_DISABLE_ENV_FILE` is true; values usable for interpolation."""
    environ = options.environ
    cwd = options.cwd.absolute()
    paths = [Path(absolute(f, cwd)) for f in _env_file_names(options)]
    if not paths and not _default_env_file_disabled(environ) and (directory / ".env").is_file():
        paths = [directory / ".env"]
    values: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            continue
        parsed = read_dotenv(path, chain_lookup(environ, values))
        values.update({k: v for k, v in parsed.items() if v is not None})
    return values


def _project_name(
    options: LoadOptions, env: Mapping[str, str], docs: list[Document], project_dir: Path
) -> str:
    if options.project_name is not None:
        return validate_project_name(options.project_name)
    if env.get("COMPOSE_PROJECT_NAME"):
        return validate_project_name(env["COMPOSE_PROJECT_NAME"])
    from_file: str | None = None
    for doc in docs:
        if isinstance(doc.data, dict) and doc.data.get("name") is not None:
            value, problems = interpolate_tree(
                str(doc.data["name"]), chain_lookup(env), doc.locations, ("name",))
            if problems:
                raise ComposeFileError(problems)
            from_file = value
    if from_file:
        return validate_project_name(from_file)
    name = normalize_project_name(project_dir.name)
    if not name:
        raise ComposeError(
            f'project name must not be empty (derived from directory "{project_dir}")',
            hint="pass -p NAME or set `name:` in the stack file",
        )
    return name


def _active(services: dict[str, Any], profiles: set[str]) -> dict[str, Any]:
    def on(svc: dict[str, Any]) -> bool:
        wanted = set(svc.get("profiles") or [])
        return not wanted or "*" in profiles or bool(wanted & profiles)

    return {n: s for n, s in services.items() if on(s)}


@dataclass
class _Merged:
    """One load up to the merged model: what normalization and the typed model start from."""

    name: str
    project_dir: Path
    env: dict[str, str]
    files: tuple[str, ...]
    model: _Model
    loading: _Loading
    warnings: tuple[str, ...]


def _merged(options: LoadOptions) -> _Merged:
    """Environment, file discovery, project name, then every file read, interpolated,
    validated, extended, included and merged."""
    cwd = options.cwd.absolute()
    first_dir = options.project_directory
    if first_dir is None and options.files and options.files[0] != STDIN:
        first_dir = Path(absolute(options.files[0], cwd)).parent
    dot_dir = Path(absolute(str(first_dir), cwd)) if first_dir else cwd
    dotenv = _dotenv(options, dot_dir)
    env: dict[str, str] = {**dotenv, **options.environ}
    project_dir_opt = Path(absolute(str(options.project_directory), cwd)) \
        if options.project_directory else None
    sources = discover(options.files, env, cwd, project_dir_opt)
    project_dir = sources.directory
    if project_dir != dot_dir and not _env_file_names(options) and project_dir_opt is None:
        dotenv = _dotenv(options, project_dir)
        env = {**dotenv, **options.environ}
    reader = _Reader()
    docs = [doc for f in sources.files for doc in reader.documents(f)]
    name = _project_name(options, env, docs, project_dir)
    env["COMPOSE_PROJECT_NAME"] = name
    loading = _Loading(reader, options.interpolate)
    model = loading.model(sources.files, project_dir, env, ())
    return _Merged(name, project_dir, env, tuple(sources.files), model, loading,
                   tuple(sources.warnings))


def _profiles(options: LoadOptions, env: Mapping[str, str]) -> set[str]:
    return set(options.profiles) or {
        p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()
    }


def load_model(options: LoadOptions) -> dict[str, Any]:
    """`config --no-normalize`: the merged model of the active services as the files say it
    (short syntax kept, relative paths kept, nothing added), with the project name."""
    merged = _merged(options)
    data = strip_markers(merged.model.data)
    services = data.get("services") or {}
    return {"name": merged.name, **data,
            "services": _active(services, _profiles(options, merged.env))}


def load_project(options: LoadOptions) -> Project:
    """Load, validate and normalize the project the options describe."""
    merged = _merged(options)
    name, project_dir, env, model = merged.name, merged.project_dir, merged.env, merged.model
    services, problems = _normalize_services(
        model.data, project_dir, env, model.locations,
        resolve_paths=options.resolve_paths, resolve_env=options.resolve_env,
    )
    active = _active(services, _profiles(options, env))
    data = dict(model.data)
    for section in ("configs", "secrets"):
        if isinstance(data.get(section), dict) and options.resolve_paths:
            data[section] = resolve_section_files(data[section], project_dir)
    if isinstance(data.get("volumes"), dict) and options.resolve_paths:  # `o: bind` devices
        data["volumes"] = resolve_bind_devices(data["volumes"], project_dir)
    raw = normalize_project(data, name, active)
    problems += cross_problems(raw, model.locations, options.consistency)
    if problems:
        raise ComposeFileError(problems)
    config_files = tuple(Path(f) if f != STDIN else Path("-") for f in merged.files)
    all_profiles = sorted({p for svc in services.values() for p in svc.get("profiles") or []})
    return build_project(
        raw, project_dir, config_files, tuple(services), env, tuple(all_profiles),
        warnings=(*merged.warnings, *_warnings(merged.loading)),
    )


def _warnings(loading: _Loading) -> tuple[str, ...]:
    """What docker compose warns about while it loads, in its words."""
    return (
        *(
            f"{absolute(name, Path.cwd())}: the attribute `version` is obsolete, it will be "
            "ignored, please remove it to avoid potential confusion"
            for name in dict.fromkeys(loading.obsolete_version) if name != STDIN
        ),
        *(
            f'The "{name}" variable is not set. Defaulting to a blank string.'
            for name in sorted(loading.unset)
        ),
    )
