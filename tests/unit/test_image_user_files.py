"""The image's /etc/passwd and /etc/group are read inside each layer: an image whose /etc is
an absolute link must not make the engine read the host's files (the host's users' names,
ids and homes came out as the container's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidArgumentError
from engine.process_config import home_directory, image_file, resolve_user


def _layer(root: Path, passwd: str) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(passwd)
    (root / "etc" / "group").write_text("app:x:1500:\n")
    return root


def test_an_images_own_files_are_read(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "layer", "app:x:1500:1500::/home/app:/bin/sh\n")
    assert resolve_user("app", [str(layer)]) == (1500, 1500)
    assert home_directory(1500, [str(layer)]) == "/home/app"


def test_an_absolute_etc_link_does_not_reach_the_hosts_files(tmp_path: Path) -> None:
    host = _layer(tmp_path / "host", "hostonly:x:4242:4242::/home/hostonly:/bin/sh\n")
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "etc").symlink_to(host / "etc")  # absolute: inside the layer, not the host's
    assert image_file([str(layer)], "/etc/passwd") is None
    with pytest.raises(InvalidArgumentError, match="unable to find user hostonly"):
        resolve_user("hostonly", [str(layer)])
    assert home_directory(4242, [str(layer)]) == "/"


def test_a_link_inside_the_layer_is_followed(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    _layer(layer / "real", "app:x:1500:1500::/home/app:/bin/sh\n")
    (layer / "etc").symlink_to("/real/etc")  # absolute, resolved in the layer
    assert resolve_user("app", [str(layer)]) == (1500, 1500)
