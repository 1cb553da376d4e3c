"""The peer every start benchmark measures beside ours: an OCI bundle for `runc run`, made from
the same busybox rootfs tarball our image comes from, so both start the same files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def make_runc_bundle(
    tarball: Path, directory: Path, args: list[str], *, readonly: bool = False
) -> Path:
    bundle = directory / "bundle"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(tarball), "-C", str(rootfs)], check=True)
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = args
    config["root"]["readonly"] = readonly
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle
