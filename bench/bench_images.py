"""Image life-cycle benchmark: a 10-step Dockerfile build cold and cached, and the pull of a
~50 MB image from a registry on loopback (Debian's docker-registry), beside skopeo.

Run as root:  python bench/bench_images.py [--size-mb 50] [--runs 3]
Reports numbers only; nothing asserts on wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.api import Engine  # noqa: E402
from engine.builder.build import BuildOptions  # noqa: E402
from engine.images import ImageStore  # noqa: E402
from engine.registry.pull import pull_image  # noqa: E402
from engine.registry.push import push_image  # noqa: E402
from tests.integration.test_registry_server import RegistryServer  # noqa: E402

BUSYBOX_SCRIPT = REPO / "examples" / "base-image" / "make-busybox-rootfs.sh"
DOCKERFILE = """\
FROM busybox
ARG VERSION=1
ENV APP=/app MODE=bench
WORKDIR /app
COPY data/ ./data/
RUN for i in 1 2 3 4 5; do echo line $i >> /app/generated.txt; done
RUN mkdir -p /var/cache/app && cp /app/data/a.txt /var/cache/app/ && rm /app/data/b.txt
COPY main.sh /usr/local/bin/main
USER 1000
EXPOSE 8080
CMD ["/usr/local/bin/main"]
"""


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_build(work: Path, busybox: Path, runs: int) -> None:
    ctx = work / "ctx"
    (ctx / "data").mkdir(parents=True)
    (ctx / "data" / "a.txt").write_text("a" * 10_000)
    (ctx / "data" / "b.txt").write_text("b" * 10_000)
    (ctx / "main.sh").write_text("#!/bin/sh\necho bench\n")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    cold, cached, edited = [], [], []
    for run in range(runs):
        engine = Engine(work / f"root-build-{run}")
        engine.import_image(busybox, "busybox:latest")
        opts = BuildOptions(context=ctx, tags=("bench:latest",))
        cold.append(_timed(partial(engine.build_image, opts)))
        cached.append(_timed(partial(engine.build_image, opts)))
        (ctx / "main.sh").write_text(f"#!/bin/sh\necho bench {run}\n")
        edited.append(_timed(partial(engine.build_image, opts)))
    print(f"build, 10 steps (2 RUN in containers), {runs} runs — median seconds:")
    print(f"  cold                                    {statistics.median(cold):8.3f}")
    print(f"  cached (no change)                      {statistics.median(cached):8.3f}")
    print(f"  last COPY changed                       {statistics.median(edited):8.3f}")


def _big_image_tar(work: Path, size_mb: int) -> Path:
    """A rootfs tar with ~size_mb of incompressible data (so gzip cannot cheat)."""
    stage = work / "big"
    (stage / "data").mkdir(parents=True)
    with open(stage / "data" / "blob.bin", "wb") as handle:
        for _ in range(size_mb):
            handle.write(os.urandom(1 << 20))
    out = work / "big.tar"
    with tarfile.open(out, "w") as archive:
        archive.add(stage / "data", arcname="data")
    shutil.rmtree(stage)
    return out


def bench_pull(work: Path, size_mb: int, runs: int) -> None:
    registry = RegistryServer(work / "registry")
    try:
        src = ImageStore(work / "root-src")
        src.import_tarball(_big_image_tar(work, size_mb), f"{registry.domain}/bench/big:1")
        remote = f"{registry.domain}/bench/big:1"
        push = _timed(lambda: push_image(src, remote))
        ours, theirs = [], []
        for run in range(runs):
            dest = ImageStore(work / f"root-pull-{run}")
            ours.append(_timed(partial(pull_image, dest, remote)))
            shutil.rmtree(work / f"root-pull-{run}")
            if shutil.which("skopeo"):
                target = work / f"skopeo-{run}"
                command = ["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false",
                           f"docker://{remote}", f"dir:{target}"]
                theirs.append(_timed(partial(subprocess.run, command, check=True,
                                             stdout=subprocess.DEVNULL)))
                shutil.rmtree(target)
        print(f"registry on loopback, {size_mb} MB image (1 uncompressed layer):")
        print(f"  push (pycompose)                        {push:8.3f}")
        print(f"  pull (pycompose: verify + unpack)       {statistics.median(ours):8.3f}")
        if theirs:
            print(f"  pull (skopeo copy to dir:, no unpack)   {statistics.median(theirs):8.3f}")
        else:
            print("  skopeo not installed: no comparison")
    finally:
        registry.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (builds run containers)")
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work = Path(tmp)
        busybox = work / "busybox.tar"
        subprocess.run([str(BUSYBOX_SCRIPT), str(busybox)], check=True, stdout=subprocess.DEVNULL)
        bench_build(work, busybox, args.runs)
        bench_pull(work, args.size_mb, args.runs)
        for root in work.glob("root-build-*"):
            engine = Engine(root)
            for info in engine.list_containers():
                engine.remove_container(info.id, force=True)


if __name__ == "__main__":
    main()
