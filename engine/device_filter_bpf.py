"""The devices allow-list on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, as runc makes.

cgroup v2 has no devices controller files; the kernel asks a BPF program attached to the cgroup
instead (it runs on every open/mknod of a device node by a task in the cgroup, and also on
hybrid hosts like this one, whose cgroup2 hierarchy carries no controllers). The program is
hand-assembled from the same rules the v1 path writes to devices.allow ("c 1:3 rwm"), so one
list describes both hierarchies and no compiler or BPF library is needed.

Semantics (runc's devicefilter): rules are tried in order, the first match decides, nothing
matching means deny. Only allow rules come from the engine; "a" as the type matches every
device, so "a *:* rwm" is the privileged allow-all.
"""

from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass

from engine import syscalls as sc

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # attach type
BPF_F_ALLOW_MULTI = 2

# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
# access_type = (access << 16) | type
DEV_BLOCK = 1
DEV_CHAR = 2
ACC_MKNOD = 1
ACC_READ = 2
ACC_WRITE = 4
_ACCESS_BITS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
_TYPES = {"c": DEV_CHAR, "b": DEV_BLOCK, "a": None}

# Opcodes (class | op | source) and registers used.
LDX_MEM_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
ALU32_AND_K = 0x54
ALU32_RSH_K = 0x74
ALU32_MOV_K = 0xB4
ALU32_MOV_X = 0xBC
JMP_JNE_K = 0x55
JMP_JNE_X = 0x5D
JMP_EXIT = 0x95
R0, R1, R2, R3, R4, R5 = range(6)

LOG_SIZE = 64 * 1024


class DeviceRuleError(ValueError):
    """A device rule that is not "TYPE MAJOR:MINOR ACCESS"."""


@dataclass(frozen=True)
class Instruction:
    """One `struct bpf_insn`: 8 bytes, little-endian, registers packed in one byte."""

    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def encode(self) -> bytes:
        return struct.pack("<BBhi", self.code, (self.src << 4) | self.dst, self.off, self.imm)


@dataclass(frozen=True)
class DeviceRule:
    """One allow rule; None for type, major or minor is the wildcard."""

    dev_type: int | None
    major: int | None
    minor: int | None
    access: int  # ACC_* bits

    @classmethod
    def parse(cls, text: str) -> DeviceRule:
        """v1 devices.allow syntax: "c 1:3 rwm", "b *:* m", "a"."""
        parts = text.split()
        if not parts or parts[0] not in _TYPES:
            raise DeviceRuleError(f"invalid device rule {text!r}")
        if parts[0] == "a" and len(parts) == 1:
            return cls(None, None, None, ACC_MKNOD | ACC_READ | ACC_WRITE)
        if len(parts) != 3 or ":" not in parts[1] or not parts[2]:
            raise DeviceRuleError(f"invalid device rule {text!r}")
        major_text, _, minor_text = parts[1].partition(":")
        try:
            major = None if major_text == "*" else int(major_text)
            minor = None if minor_text == "*" else int(minor_text)
            access = 0
            for letter in parts[2]:
                access |= _ACCESS_BITS[letter]
        except (ValueError, KeyError):
            raise DeviceRuleError(f"invalid device rule {text!r}") from None
        return cls(_TYPES[parts[0]], major, minor, access)


def _rule_block(rule: DeviceRule) -> list[Instruction]:
    """Checks that jump past this block on mismatch, then `return 1`."""
    checks: list[Instruction] = []
    if rule.dev_type is not None:
        checks.append(Instruction(JMP_JNE_K, R2, imm=rule.dev_type))
    if rule.access != ACC_MKNOD | ACC_READ | ACC_WRITE:
        # The requested access must be a subset of the rule's: (R3 & allowed) == R3.
        checks.append(Instruction(ALU32_MOV_X, R1, R3))
        checks.append(Instruction(ALU32_AND_K, R1, imm=rule.access))
        checks.append(Instruction(JMP_JNE_X, R1, R3))
    if rule.major is not None:
        checks.append(Instruction(JMP_JNE_K, R4, imm=rule.major))
    if rule.minor is not None:
        checks.append(Instruction(JMP_JNE_K, R5, imm=rule.minor))
    block = [*checks, Instruction(ALU32_MOV_K, R0, imm=1), Instruction(JMP_EXIT)]
    # A jump's offset counts from the next instruction: to the end of the block.
    return [
        Instruction(i.code, i.dst, i.src, len(block) - index - 1, i.imm)
        if i.code in (JMP_JNE_K, JMP_JNE_X)
        else i
        for index, i in enumerate(block)
    ]


def build_program(rules: tuple[str, ...] | list[str]) -> tuple[Instruction, ...]:
    """The filter for v1-syntax allow rules: load the context, one block per rule, deny."""
    program = [
        Instruction(LDX_MEM_W, R2, R1, 0),  # access_type
        Instruction(ALU32_AND_K, R2, imm=0xFFFF),  # -> type
        Instruction(LDX_MEM_W, R3, R1, 0),
        Instruction(ALU32_RSH_K, R3, imm=16),  # -> access
        Instruction(LDX_MEM_W, R4, R1, 4),  # major
        Instruction(LDX_MEM_W, R5, R1, 8),  # minor
    ]
    for text in rules:
        program.extend(_rule_block(DeviceRule.parse(text)))
    program.extend([Instruction(ALU32_MOV_K, R0, imm=0), Instruction(JMP_EXIT)])
    return tuple(program)


def encode(program: tuple[Instruction, ...]) -> bytes:
    return b"".join(instruction.encode() for instruction in program)


def load(program: tuple[Instruction, ...]) -> int:
    """Load into the kernel (the verifier checks it); the program's fd. Raises OSError with
    the verifier's log when it is refused."""
    code = ctypes.create_string_buffer(encode(program))
    license_text = ctypes.create_string_buffer(b"Apache")
    log = ctypes.create_string_buffer(LOG_SIZE)
    # union bpf_attr, BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, log_level, log_size,
    # log_buf, kern_version, prog_flags, prog_name[16]; the rest zero.
    head = struct.pack(
        "<IIQQIIQII16s",
        BPF_PROG_TYPE_CGROUP_DEVICE,
        len(program),
        ctypes.addressof(code),
        ctypes.addressof(license_text),
        1,
        LOG_SIZE,
        ctypes.addressof(log),
        0,
        0,
        b"pycompose_dev",
    )
    attr = ctypes.create_string_buffer(head.ljust(128, b"\0"), 128)
    try:
        return sc.bpf(sc.BPF_PROG_LOAD, attr)
    except OSError as exc:
        detail = log.value.decode(errors="replace").strip().splitlines()[-3:]
        raise OSError(exc.errno, f"loading the device filter: {exc.strerror}; "
                      f"{' / '.join(detail)}") from None


def _attach_attr(cgroup_fd: int, prog_fd: int, flags: int) -> ctypes.Array[ctypes.c_char]:
    # target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd
    raw = struct.pack("<IIIII", cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, flags, 0)
    return ctypes.create_string_buffer(raw.ljust(32, b"\0"), 32)


def attach(cgroup_dir: str, rules: tuple[str, ...] | list[str]) -> int:
    """Load the filter for `rules` and attach it to the cgroup2 directory; returns the program
    fd (the cgroup keeps the program alive after the fd is closed; removing the cgroup frees
    it)."""
    prog_fd = load(build_program(rules))
    try:
        cgroup_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            sc.bpf(sc.BPF_PROG_ATTACH, _attach_attr(cgroup_fd, prog_fd, BPF_F_ALLOW_MULTI))
        finally:
            os.close(cgroup_fd)
    except BaseException:
        os.close(prog_fd)
        raise
    return prog_fd


def detach(cgroup_dir: str, prog_fd: int) -> None:
    """Undo `attach` (the kernel wants no flags on detach)."""
    cgroup_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sc.bpf(sc.BPF_PROG_DETACH, _attach_attr(cgroup_fd, prog_fd, 0))
    finally:
        os.close(cgroup_fd)
