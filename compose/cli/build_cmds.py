"""`build`, `pull`, `push` for the project's services, and `login`/`logout` for registries."""

from __future__ import annotations

import sys

import typer

from compose.cli.interrupts import sigterm_as_ctrl_c
from compose.cli.session import load
from compose.errors import ComposeError
from compose.model import Project

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from engine.api import Engine

PULL_POLICIES = ("missing", "always", "if_not_present")
MISSING = ("missing", "if_not_present")  # compose-go's two names of one policy


def _report(line: str) -> None:
    print(line, file=sys.stderr)


def _services(ctx: typer.Context, names: list[str] | None) -> tuple[Project, list[str]]:
    project = load(ctx)
    chosen = list(names or project.services)
    unknown = [n for n in chosen if n not in project.services]
    if unknown:
        raise ComposeError(f"no such service: {', '.join(unknown)}")
    return project, chosen


@sigterm_as_ctrl_c()
def build(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services to build"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use cache"),
    pull: bool = typer.Option(False, "--pull", help="Always pull newer base images"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Don't print anything"),
    secret: list[str] = typer.Option(
        None, "--secret", help="Secret for RUN --mount=type=secret: id=x,src=path | id=x,env=VAR"
    ),
    build_arg: list[str] = typer.Option(
        None, "--build-arg", help="Set build-time variables: KEY=VALUE, or KEY (from the env)"
    ),
    push: bool = typer.Option(False, "--push", help="Push service images once built"),
    with_dependencies: bool = typer.Option(
        False, "--with-dependencies", help="Also build the services' dependencies"
    ),
    builder: str = typer.Option(
        None, "--builder", help="Set builder to use (accepted; pycompose has one builder)"
    ),
    memory: str = typer.Option(
        None, "-m", "--memory",
        help="Set memory limit for the build container (accepted, not applied, as BuildKit)",
    ),
    ssh: list[str] = typer.Option(
        None, "--ssh", help="SSH agent for RUN --mount=type=ssh (not supported: refused)"
    ),
    provenance: str = typer.Option(
        None, "--provenance", help="Add a provenance attestation (only false is supported)"
    ),
    sbom: str = typer.Option(
        None, "--sbom", help="Add a SBOM attestation (only false is supported)"
    ),
    print_bake: bool = typer.Option(
        False, "--print", help="Print equivalent bake file (nothing is built)"
    ),
    check: bool = typer.Option(
        False, "--check", help="Check build configuration (the Dockerfile checks; nothing "
        "is built)"
    ),
) -> None:
    """Build or rebuild services (those with a `build:` section)."""
    import os
    from pathlib import Path

    from compose.build_secrets import parse_secret_flag
    from compose.image_policy import build_section, build_service
    from engine.api import Engine

    del builder, memory  # accepted as compose accepts them; one builder, no build limit
    _refuse_unsupported_build_flags(ssh or [], provenance, sbom)
    project, chosen = _services(ctx, services)
    if with_dependencies:
        chosen = _with_dependencies(project, chosen)
    from compose.build_contexts import with_context_services

    chosen = with_context_services(project, chosen)  # service: contexts are built first
    given = [parse_secret_flag(s, dict(os.environ), Path.cwd()) for s in secret or ()]
    args = _build_args(build_arg or [])
    if print_bake:
        import json

        from compose.bake_file import bake_file

        definition = bake_file(project, chosen, args=args, pull=pull, no_cache=no_cache,
                               push=push)
        print(json.dumps(definition, indent=2, ensure_ascii=False))
        return
    engine = Engine()
    if check:
        _check(engine, project, chosen, args)
        return
    built = []
    for name in chosen:
        service = project.services[name]
        if build_section(service) is None:
            continue
        build_service(engine, project, service, no_cache=no_cache, pull=pull,
                      report=(lambda _l: None) if quiet else _report,
                      secrets=tuple(s for s in given if s is not None), extra_args=args,
                      warn=_report)
        built.append(name)
    if push:
        _push(engine, project, built, ignore_failures=False, quiet=quiet)


def _check(
    engine: Engine, project: Project, chosen: list[str], args: dict[str, str | None]
) -> None:
    """`build --check`: each buildable service's Dockerfile through BuildKit's checks, printed
    as `buildx bake --call check` prints them (docker compose builds through bake): per target
    (service) in name order, its name, a blank line and the check's report. The exit status
    is BuildKit's lint status: 1 when a warning was found, else 0; a Dockerfile whose
    `# check=error=true` made its warnings an error also gets bake's `error: …` line."""
    from compose.cli.build_check import failure, report
    from compose.image_policy import build_options, build_section

    buildable = sorted(n for n in chosen if build_section(project.services[n]) is not None)
    checks = []
    for name in buildable:  # every Dockerfile parses before anything is printed
        options = build_options(project, project.services[name], extra_args=args)
        checks.append((name, options, engine.check_build(options)))
    status = 0
    for index, (name, options, check) in enumerate(checks):
        text = report(check, _dockerfile_name(options, check.file))
        problem = failure(check)
        if problem is not None:
            text += f"\nerror: {problem}\n"
        print(("\n" if index else "") + f"{name}\n\n{text}", end="", flush=True)
        status = status or (1 if check.result.warnings else 0)
    if status:
        raise typer.Exit(status)


def _dockerfile_name(options: object, file: str) -> str:
    """How BuildKit heads a Dockerfile's lines: its path relative to the build context."""
    from pathlib import Path

    context = Path(str(getattr(options, "context", ".")))
    try:
        return str(Path(file).relative_to(context))
    except ValueError:
        return file


def _refuse_unsupported_build_flags(
    ssh: list[str], provenance: str | None, sbom: str | None
) -> None:
    """What the builder cannot do is refused before anything is built, naming the flag;
    `--provenance=false` / `--sbom=false` ask for what it does anyway (no attestations)."""
    if ssh:
        raise ComposeError(
            "--ssh is not supported: the builder has no SSH agent forwarding",
            hint="use a build secret (--secret / build.secrets) instead",
        )
    for flag, value in (("--provenance", provenance), ("--sbom", sbom)):
        if value is not None and value.strip().lower() not in ("false", "0"):
            raise ComposeError(
                f"{flag}={value} is not supported: the builder adds no attestations",
                hint=f"leave {flag} out, or pass {flag}=false",
            )


def _build_args(values: list[str]) -> dict[str, str | None]:
    """`--build-arg KEY=VALUE`; a bare `KEY` takes its value from the environment, and is not
    passed when it has none there (docker compose's MappingWithEquals)."""
    args: dict[str, str | None] = {}
    for value in values:
        key, sep, given = value.partition("=")
        if not key:
            raise ComposeError(f"invalid --build-arg {value!r}: expected KEY=VALUE or KEY")
        args[key] = given if sep else None
    return args


def _with_dependencies(project: Project, chosen: list[str]) -> list[str]:
    """The services and everything they depend on, dependencies first."""
    from compose.graph import dependencies

    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in project.services:
            return
        for dep in dependencies(project.services[name]):
            visit(dep.service)
        ordered.append(name)

    for name in chosen:
        visit(name)
    return ordered


@sigterm_as_ctrl_c()
def pull(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services to pull"),
    ignore_buildable: bool = typer.Option(False, "--ignore-buildable"),
    ignore_pull_failures: bool = typer.Option(
        False, "--ignore-pull-failures",
        help="Pull what it can and ignores images with pull failures"),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="Pull without printing progress information"),
    include_deps: bool = typer.Option(
        False, "--include-deps", help="Also pull services declared as dependencies"),
    policy: str = typer.Option(
        None, "--policy", help='Apply pull policy ("missing"|"always")'),
) -> None:
    """Pull service images."""
    from compose.image_policy import build_section, pull_service
    from engine.api import Engine

    if policy is not None and policy not in PULL_POLICIES:
        raise ComposeError(f'invalid --policy "{policy}": use "missing" or "always"')
    project, chosen = _services(ctx, services)
    if include_deps:
        chosen = _with_dependencies(project, chosen)
    engine = Engine()
    failures = []
    for name in chosen:
        service = project.services[name]
        if not service.image or (ignore_buildable and build_section(service) is not None):
            continue
        if policy in MISSING and engine.images.find(service.image) is not None:
            if not quiet:
                _report(f" {name} Skipped - Image is already present locally")
            continue
        try:
            pull_service(engine, service, (lambda _l: None) if quiet else _report)
        except ComposeError as exc:
            if build_section(service) is not None or ignore_pull_failures:
                _report(f"WARN[0000] {exc}")
                continue
            failures.append(str(exc))
    if failures:
        raise ComposeError("\n".join(failures))


def push(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None, help="Services to push"),
    ignore_push_failures: bool = typer.Option(
        False, "--ignore-push-failures",
        help="Push what it can and ignores images with push failures"),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="Push without printing progress information"),
    include_deps: bool = typer.Option(
        False, "--include-deps", help="Also push images of services declared as dependencies"),
) -> None:
    """Push service images (services with an `image:` name)."""
    from engine.api import Engine

    project, chosen = _services(ctx, services)
    if include_deps:
        chosen = _with_dependencies(project, chosen)
    _push(Engine(), project, chosen, ignore_failures=ignore_push_failures, quiet=quiet)


def _push(
    engine: object, project: Project, chosen: list[str], *, ignore_failures: bool, quiet: bool
) -> None:
    from compose.cli.image_cmds import progress_printer
    from engine.api import Engine, EngineError

    assert isinstance(engine, Engine)
    for name in chosen:
        service = project.services[name]
        if not service.image:
            continue
        try:
            engine.push_image(service.image, None, None if quiet else progress_printer())
        except EngineError as exc:
            if not ignore_failures:
                raise ComposeError(f"service {name}: failed to push {service.image}: {exc}",
                                   hint=exc.hint) from exc
            _report(f"WARN[0000] service {name}: {exc}")


def login(
    server: str = typer.Argument(None, help="Registry (default: Docker Hub)"),
    username: str = typer.Option(None, "-u", "--username"),
    password: str = typer.Option(None, "-p", "--password"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read password on stdin"),
) -> None:
    """Log in to a registry (credentials go to ~/.docker/config.json, shared with docker)."""
    import getpass

    from engine.api import Credentials, RegistryClient, save_credentials

    registry = server or "docker.io"
    for prefix in ("https://", "http://"):
        registry = registry.removeprefix(prefix)
    registry = registry.rstrip("/")
    if password_stdin:
        if password:
            raise typer.BadParameter("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.readline().rstrip("\n")
    if not username:
        username = input("Username: ")
    if not password:
        password = getpass.getpass("Password: ")
    credentials = Credentials(username, password)
    client = RegistryClient(registry, credentials=credentials)
    try:
        client.ping()
    finally:
        client.close()
    path = save_credentials(registry, credentials)
    print(f"Login Succeeded (credentials stored in {path})")


def logout(server: str = typer.Argument(None, help="Registry (default: Docker Hub)")) -> None:
    """Log out from a registry."""
    from engine.api import remove_credentials

    registry = (server or "docker.io").removeprefix("https://").removeprefix("http://")
    if remove_credentials(registry):
        print(f"Removing login credentials for {registry}")
    else:
        print(f"Not logged in to {registry}")


def register(app: typer.Typer) -> None:
    app.command()(build)
    app.command()(pull)
    app.command()(push)
    app.command()(login)
    app.command()(logout)
