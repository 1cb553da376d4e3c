"""pycompose's built-in container engine. Callers outside the engine use `engine.api` only,
plus `prewarm_supervisors`, `prewarm_network_attach`, `cache_dataclass_methods`, `sha256_hex`,
`signal_problem` and `capability_problem` below, which are here (not in engine.api) because
they must be callable before the caller pays for importing the rest of the engine (the loader
checks `stop_signal` and `cap_add`)."""


def prewarm_supervisors() -> None:
    """Start the supervisor fork server now, so its Python start-up and imports run on another
    core while the caller (a one-off `run`) imports and loads its project; the container start
    that follows finds it ready. Harmless when nothing is started: the server exits when this
    process does."""
    from engine.supervisor_spawner import SPAWNER

    SPAWNER.prewarm()


def prewarm_network_attach() -> None:
    """The container about to be started attaches to a bridge: have a fork server started by
    `prewarm_supervisors` load the attach path now, while the caller still prepares the
    container (nothing happens when none runs)."""
    from engine.supervisor_spawner import SPAWNER

    SPAWNER.warm_netlink()


def cache_dataclass_methods() -> None:
    """Make dataclasses of a known shape from the on-disk cache from now on (a third of the
    import time of the CLI and the fork server; engine.dataclass_code_cache). Call before
    importing the modules that define them."""
    from engine.dataclass_code_cache import install

    install()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of small data (cache keys, config hashes) as hex, without loading OpenSSL
    (engine.small_sha256): the project cache computes its key before anything else is imported
    on a fast `run`, so going through engine.api here would cost it the whole engine."""
    from engine.small_sha256 import sha256

    return sha256(data).hexdigest()


def capability_problem(name: str) -> str | None:
    """Why `name` is not a capability `cap_add`/`cap_drop` may name, or None."""
    from engine.capabilities import canonical_name

    return None if canonical_name(name) else f"unknown capability {name!r}"


def signal_problem(name: str) -> str | None:
    """Why `name` is not a signal the engine can send (`kill -s`, `stop_signal`), or None."""
    from engine.errors import InvalidArgumentError
    from engine.signal_names import signal_number

    try:
        signal_number(name)
    except InvalidArgumentError as exc:
        return str(exc)
    return None
