"""The container store's name index: lookups by name without loading every record, and the
same answers as a full scan, also after a crash left the index and the records out of step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.containers import NAMES_DIR, ContainerSpec, ContainerStore
from engine.errors import AlreadyExistsError, InvalidArgumentError
from engine.layout import Layout


@pytest.fixture
def store(tmp_path: Path) -> ContainerStore:
    layout = Layout(tmp_path / "root")
    layout.ensure()
    return ContainerStore(layout)


def make(store: ContainerStore, name: str) -> str:
    return store.create(ContainerSpec(name=name, image="busybox"), "sha256:" + "0" * 64).id


def test_find_by_name_full_id_and_prefix(store: ContainerStore) -> None:
    first, second = make(store, "web-1"), make(store, "db-1")
    assert store.get("web-1").id == first
    assert store.get(second).name == "db-1"
    assert store.get(first[:12]).name == "web-1"
    assert store.find("nope") is None
    assert store.find("../containers") is None


def test_duplicate_name_refused_until_removed(store: ContainerStore) -> None:
    first = make(store, "web-1")
    with pytest.raises(AlreadyExistsError, match='"web-1" is already in use'):
        make(store, "web-1")
    store.delete(first)
    assert store.find("web-1") is None
    second = make(store, "web-1")
    assert second != first and store.get("web-1").id == second


def test_invalid_name_refused(store: ContainerStore) -> None:
    with pytest.raises(InvalidArgumentError):
        make(store, "../escape")


def test_entry_orphaned_by_a_crashed_create_frees_the_name(store: ContainerStore) -> None:
    # A create that died after writing the index entry, before the record existed.
    assert store.find("web-1") is None  # (builds the empty index)
    os.symlink("f" * 64, store.layout.root / NAMES_DIR / "web-1")
    assert store.find("web-1") is None
    container_id = make(store, "web-1")
    assert store.get("web-1").id == container_id


def test_entry_orphaned_by_a_crashed_delete_frees_the_name(store: ContainerStore) -> None:
    container_id = make(store, "web-1")
    (store.layout.container_dir(container_id) / "config.json").unlink()  # delete died here
    assert store.find("web-1") is None
    assert make(store, "web-1") != container_id


def test_delete_of_an_old_record_keeps_the_newer_owner_of_the_name(
    store: ContainerStore,
) -> None:
    old = make(store, "web-1")
    config, aside = store.layout.container_dir(old) / "config.json", store.layout.root / "aside"
    config.rename(aside)
    new = make(store, "web-1")  # the orphaned entry was taken over
    aside.rename(config)
    store.delete(old)
    assert store.get("web-1").id == new


def test_data_root_without_index_is_indexed_on_first_use(store: ContainerStore) -> None:
    container_id = make(store, "web-1")
    index = store.layout.root / NAMES_DIR
    for entry in index.iterdir():
        entry.unlink()
    index.rmdir()  # as a data root written before the index existed
    fresh = ContainerStore(store.layout)
    assert fresh.get("web-1").id == container_id
    with pytest.raises(AlreadyExistsError):
        make(fresh, "web-1")


def test_delete_leaves_containers_dir_empty(store: ContainerStore) -> None:
    store.delete(make(store, "web-1"))
    assert list(store.layout.containers.iterdir()) == []
    assert list((store.layout.root / NAMES_DIR).iterdir()) == []
