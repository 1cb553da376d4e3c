"""Property tests: no input string or YAML document makes the loader raise anything but the
project's own error type (ComposeError), and interpolation has the laws users rely on."""

from __future__ import annotations

import contextlib
import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import ComposeError
from compose.interpolation import InterpolationError, interpolate
from compose.loader import load_project
from compose.model import LoadOptions

ENV = {"A": "alpha", "EMPTY": "", "N": "3"}


def lookup(name: str) -> str | None:
    return ENV.get(name)


@given(st.text(alphabet=string.ascii_letters + string.digits + "${}:-?+_ ./\\\"'", max_size=60))
def test_interpolation_only_raises_its_own_error(text: str) -> None:
    try:
        result = interpolate(text, lookup)
    except InterpolationError:
        return
    assert isinstance(result, str)


@given(st.text(alphabet=string.ascii_letters + " ./:", max_size=40))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert interpolate(text, lookup) == text


@given(st.text(alphabet=string.ascii_letters + " ./:{}", max_size=40))
def test_double_dollar_escapes(text: str) -> None:
    escaped = text.replace("$", "$$")
    assert interpolate("$$" + escaped, lookup) == "$" + text


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(alphabet=string.printable, max_size=20),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(alphabet=string.ascii_lowercase + "_-.", min_size=1, max_size=10),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)
service_keys = st.sampled_from(
    [
        "image",
        "command",
        "entrypoint",
        "environment",
        "depends_on",
        "volumes",
        "networks",
        "ports",
        "mem_limit",
        "labels",
        "extends",
        "profiles",
        "deploy",
        "healthcheck",
        "build",
        "env_file",
        "stop_grace_period",
        "restart",
        "user",
        "expose",
        "ulimits",
        "x-custom",
    ]
)
documents = st.one_of(
    yaml_values,
    st.fixed_dictionaries(
        {
            "services": st.dictionaries(
                st.sampled_from(["web", "db", "a-b"]),
                st.dictionaries(service_keys, yaml_values, max_size=5),
                max_size=3,
            ),
        },
        optional={
            "volumes": yaml_values,
            "networks": yaml_values,
            "name": yaml_values,
            "include": yaml_values,
        },
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(documents)
def test_any_document_loads_or_raises_compose_error(tmp_path: Path, document: object) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(document))
    options = LoadOptions(files=(str(path),), environ=dict(ENV), cwd=tmp_path)
    with contextlib.suppress(ComposeError):
        load_project(options)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_any_text_loads_or_raises_compose_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    options = LoadOptions(files=(str(path),), environ=dict(ENV), cwd=tmp_path)
    with contextlib.suppress(ComposeError):
        load_project(options)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.dictionaries(service_keys, yaml_values, max_size=4), min_size=2, max_size=3))
def test_merging_any_files_raises_only_compose_error(tmp_path: Path, overrides: list[dict]) -> None:
    files = []
    for index, service in enumerate(overrides):
        path = tmp_path / f"compose{index}.yaml"
        path.write_text(yaml.safe_dump({"services": {"web": service}}))
        files.append(str(path))
    options = LoadOptions(files=tuple(files), environ=dict(ENV), cwd=tmp_path)
    with contextlib.suppress(ComposeError):
        load_project(options)
