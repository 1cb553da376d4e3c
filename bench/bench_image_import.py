"""Image store benchmark: import time, first/second ``layer_paths`` time, and the unpack
method choice (GNU ``tar -x`` vs Python ``tarfile``) on a busybox rootfs and a larger tree.

Run as root:  python bench/bench_image_import.py [--large-src DIR ...] [--runs N]
Reports numbers only; nothing asserts on wall time.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.images import ImageStore  # noqa: E402
from engine.snapshots import apply_whiteouts, scan_layer, unpack_layer  # noqa: E402

BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"


def unpack_with_tarfile(layer: Path, dest: Path) -> None:
    """The alternative measured against ``tar -x``: same scan, then ``tarfile.extractall``
    (which, unlike GNU tar, cannot restore xattrs such as file capabilities)."""
    scan = scan_layer(layer)

    def keep(member: tarfile.TarInfo, _path: str) -> tarfile.TarInfo | None:
        return None if os.path.basename(member.name).startswith(".wh.") else member

    with tarfile.open(layer, "r:") as archive:
        archive.extractall(dest, numeric_owner=True, filter=keep)
    apply_whiteouts(dest, scan)


def timed(action: Callable[[], object], runs: int, setup: Callable[[], None] | None = None) -> str:
    samples = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    best, median = min(samples), statistics.median(samples)
    return f"best {best * 1000:8.1f} ms  median {median * 1000:8.1f} ms  (n={runs})"


def time_import(source: Path, name: str, work: Path, runs: int) -> str:
    """Each run imports into a fresh store, so nothing is deduplicated away."""
    roots: list[Path] = []

    def new_root() -> None:
        roots.append(Path(tempfile.mkdtemp(dir=work)))

    return timed(lambda: ImageStore(roots[-1]).import_tarball(source, name), runs, new_root)


def bench_tarball(name: str, tarball: Path, work: Path, runs: int) -> None:
    scan = scan_layer(tarball)
    print(
        f"\n== {name}: {tarball.stat().st_size / 1e6:.1f} MB tar, {scan.members} members,"
        f" {scan.content_size / 1e6:.1f} MB file data"
    )
    print(f"  scan_layer (headers only)   {timed(lambda: scan_layer(tarball), runs)}")

    dest = work / f"{name}-dest"

    def fresh() -> None:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        os.sync()  # don't charge the previous run's writeback to this one

    tar_x = timed(lambda: unpack_layer(tarball, dest), runs, fresh)
    print(f"  unpack: tar -x (+scan)      {tar_x}")
    print(
        "  unpack: tarfile (+scan)     "
        + timed(lambda: unpack_with_tarfile(tarball, dest), runs, fresh)
    )
    shutil.rmtree(dest, ignore_errors=True)

    gz = work / f"{name}.tar.gz"
    gz.write_bytes(gzip.compress(tarball.read_bytes(), compresslevel=6))
    for label, source in (("plain", tarball), ("gzip", gz)):
        print(f"  import_tarball ({label:5})      {time_import(source, name, work, runs)}")

    first, second = [], []
    for _ in range(runs):
        root = Path(tempfile.mkdtemp(dir=work))
        store = ImageStore(root)
        image = store.import_tarball(tarball, name)
        os.sync()
        start = time.perf_counter()
        store.layer_paths(image)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        ImageStore(root).layer_paths(image)
        second.append(time.perf_counter() - start)
        shutil.rmtree(root)
    print(f"  layer_paths first call      best {min(first) * 1000:8.1f} ms  "
          f"median {statistics.median(first) * 1000:8.1f} ms")
    print(f"  layer_paths second call     best {min(second) * 1000:8.3f} ms  "
          f"median {statistics.median(second) * 1000:8.3f} ms")
    print(f"  os.sync() with nothing dirty {timed(os.sync, runs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--large-src",
        nargs="*",
        default=["/usr/lib/python3", "/usr/lib/python3.11"],
        help="directories tarred into the larger test image",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: unpacking restores owners and device nodes")
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work = Path(tmp)
        busybox = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(busybox)], check=True, stdout=subprocess.DEVNULL)
        bench_tarball("busybox", busybox, work, args.runs)
        sources = [Path(p) for p in args.large_src if Path(p).is_dir()]
        if sources:
            large = work / "large.tar"
            subprocess.run(
                ["tar", "-cf", str(large), "--xattrs", "-C", "/",
                 *[str(p.relative_to("/")) for p in sources]],
                check=True,
            )
            bench_tarball("large", large, work, args.runs)


if __name__ == "__main__":
    main()
