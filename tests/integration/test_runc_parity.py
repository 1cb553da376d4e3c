"""The same isolation checks in a container made by runc (from an OCI bundle with Docker's
defaults: capabilities, seccomp denials, masked and read-only paths) and in one of ours: the
process inside must see the same thing. Skipped where runc is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from engine.api import Engine
from engine.capabilities import DOCKER_DEFAULT
from engine.rootfs import MASKED_PATHS, READONLY_PATHS
from engine.seccomp_profile import _CLONE_NAMESPACE_FLAGS, blocked_syscalls
from tests.integration.runtime_helpers import run_to_exit, sh

pytestmark = pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed")

# Each line: a check and what the process saw. Nothing here depends on ids or hostnames.
CHECKS = "; ".join(
    [
        "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status",
        "echo pid=$$",
        "echo uid=$(id -u) gid=$(id -g)",
        "mkdir -p /mnt; mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?",
        "unshare -U true 2>/dev/null; echo userns=$?",
        "(echo 1 > /proc/sys/kernel/shmmax) 2>/dev/null; echo procsys=$?",
        "echo keys=$(wc -c < /proc/keys) timer_list=$(wc -c < /proc/timer_list)",
        "echo firmware=$(ls /sys/firmware | wc -l)",
        "touch /sys/x 2>/dev/null; echo sysfs=$?",
        "touch /x && echo rootfs-writable",
        "for d in null zero full random urandom tty; do test -c /dev/$d || echo missing-$d; done",
        "test -d /dev/pts && test -d /dev/shm && test -d /dev/mqueue && echo dev-dirs",
        "(mknod /tmp/m c 1 1 && (: < /tmp/m)) 2>/dev/null; echo devmem=$?",
        "chown 1:1 /x; echo chown=$?",
        # The shell's own builtins (no child of it may be counted or not, depending on timing,
        # as `ls /proc | grep` did): the processes of the pid namespace, init alone here.
        "set -- /proc/[0-9]*; echo processes=$#",
    ]
)


def _oci_caps() -> list[str]:
    return [f"CAP_{name}" for name in DOCKER_DEFAULT]


def _oci_seccomp() -> dict[str, object]:
    """Our default profile in OCI form (runc compiles it with the same libseccomp)."""
    rules: list[dict[str, object]] = [
        {"names": list(blocked_syscalls(DOCKER_DEFAULT)), "action": "SCMP_ACT_ERRNO",
         "errnoRet": 1},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    ]
    for flag in _CLONE_NAMESPACE_FLAGS:
        rules.append({
            "names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
        })
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": rules}


def _runc_bundle(tarball: Path, directory: Path) -> Path:
    bundle = directory / "bundle"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(tarball), "-C", str(rootfs)], check=True)
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    config = json.loads((bundle / "config.json").read_text())
    caps = _oci_caps()
    config["process"].update(
        terminal=False,
        args=["sh", "-c", CHECKS],
        noNewPrivileges=False,
        capabilities={"bounding": caps, "effective": caps, "permitted": caps},
    )
    config["process"].pop("rlimits", None)
    config["root"]["readonly"] = False
    config["linux"]["maskedPaths"] = list(MASKED_PATHS)
    config["linux"]["readonlyPaths"] = list(READONLY_PATHS)
    config["linux"]["seccomp"] = _oci_seccomp()
    config["linux"]["resources"]["devices"] = [
        {"allow": False, "access": "rwm"},
        *({"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
          for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2))),
        {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    ]
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def test_runc_and_pycompose_containers_see_the_same(
    engine_with_busybox: Engine, busybox_tarball: Path, tmp_path: Path
) -> None:
    bundle = _runc_bundle(busybox_tarball, tmp_path)
    result = subprocess.run(
        ["runc", "run", "--bundle", str(bundle), f"pycompose-parity-{uuid.uuid4().hex[:8]}"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )
    assert result.returncode == 0, result.stderr
    code, ours = run_to_exit(engine_with_busybox, sh("parity", CHECKS, network_mode="none"))
    assert code == 0, ours
    assert len(ours.splitlines()) >= 17, ours
    assert ours.splitlines() == result.stdout.splitlines()
    # and what they both see is Docker's default isolation
    assert "CapEff:\t00000000a80425fb" in ours
    assert "mount=0" not in ours and "userns=0" not in ours and "procsys=0" not in ours
