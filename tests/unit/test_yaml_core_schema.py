"""Plain scalars typed as compose-go types them (YAML 1.2's core schema), not as PyYAML's
YAML 1.1 does: the classic surprises of `restart: no`, `FOO: yes` and `- 22:22`."""

from __future__ import annotations

from pathlib import Path

from compose.loader import load_project
from compose.model import LoadOptions


def _service(tmp_path: Path, body: str) -> dict[str, object]:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n" + body)
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    return project.raw["services"]["a"]


def test_yes_no_on_off_are_strings(tmp_path: Path) -> None:
    raw = _service(tmp_path, "    restart: no\n    environment:\n      A: yes\n      B: off\n")
    assert raw["restart"] == "no"
    assert raw["environment"] == {"A": "yes", "B": "off"}


def test_base_60_and_dates_stay_as_written(tmp_path: Path) -> None:
    raw = _service(tmp_path, "    ports:\n      - 22:22\n    labels:\n      day: 2020-01-01\n")
    assert [(p["published"], p["target"]) for p in raw["ports"]] == [("22", 22)]
    assert raw["labels"] == {"day": "2020-01-01"}


def test_numbers_and_booleans_of_the_core_schema(tmp_path: Path) -> None:
    raw = _service(
        tmp_path,
        # 017: octal, as Go reads it
        "    environment:\n      ZERO: 017\n      HEX: 0x1F\n      OCT: 0o17\n      F: 1.5\n"
        "    privileged: true\n    tty: False\n",
    )
    assert raw["environment"] == {"ZERO": "15", "HEX": "31", "OCT": "15", "F": "1.5"}
    assert (raw["privileged"], raw["tty"]) == (True, False)


def test_a_sysctl_listed_without_a_value_is_the_empty_string(tmp_path: Path) -> None:
    """compose-go's Mapping: `- key` without `=` is "" (it reached the kernel as "None")."""
    body = "    sysctls:\n      - net.ipv4.ip_forward\n      - net.core.somaxconn=1024\n"
    raw = _service(tmp_path, body)
    assert raw["sysctls"] == {"net.ipv4.ip_forward": "", "net.core.somaxconn": "1024"}
