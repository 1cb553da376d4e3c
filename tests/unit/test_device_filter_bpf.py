"""The cgroup v2 device filter program, without a kernel: the exact instruction bytes, and what
the program decides, run through a tiny interpreter of the opcodes the builder emits."""

from __future__ import annotations

import struct

import pytest

from engine import device_filter_bpf as bpf
from engine.cgroups import DEFAULT_DEVICE_RULES

CHAR, BLOCK = bpf.DEV_CHAR, bpf.DEV_BLOCK
M, R, W = bpf.ACC_MKNOD, bpf.ACC_READ, bpf.ACC_WRITE


def run(program: tuple[bpf.Instruction, ...], dev_type: int, access: int, major: int,
        minor: int) -> int:
    """Execute the program on one `bpf_cgroup_dev_ctx` from its encoded bytes (what the
    kernel gets), so the encoding is what is tested, not the dataclasses."""
    raw = bpf.encode(program)
    ctx = struct.pack("<III", (access << 16) | dev_type, major, minor)
    regs = [0] * 11
    pc = 0
    for _step in range(10_000):
        code, regs_byte, off, imm = struct.unpack_from("<BBhi", raw, pc * 8)
        dst, src = regs_byte & 0xF, regs_byte >> 4
        pc += 1
        if code == bpf.LDX_MEM_W:
            assert src == 1, "the filter only reads its context (r1)"
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif code == bpf.ALU32_AND_K:
            regs[dst] = (regs[dst] & imm) & 0xFFFFFFFF
        elif code == bpf.ALU32_RSH_K:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif code == bpf.ALU32_MOV_K:
            regs[dst] = imm & 0xFFFFFFFF
        elif code == bpf.ALU32_MOV_X:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif code == bpf.JMP_JNE_K:
            if regs[dst] != imm & 0xFFFFFFFFFFFFFFFF:
                pc += off
        elif code == bpf.JMP_JNE_X:
            if regs[dst] != regs[src]:
                pc += off
        elif code == bpf.JMP_EXIT:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
        assert 0 <= pc < len(raw) // 8, "jumped out of the program"
    raise AssertionError("program did not terminate")


def test_instruction_encoding_matches_struct_bpf_insn() -> None:
    # ldxw r2, [r1+0]: code 0x61, dst 2 in the low nibble, src 1 in the high one.
    assert bpf.Instruction(bpf.LDX_MEM_W, 2, 1, 0).encode() == bytes.fromhex("6112000000000000")
    assert bpf.Instruction(bpf.LDX_MEM_W, 5, 1, 8).encode() == bytes.fromhex("6115080000000000")
    # jne r4, 136, +3 (negative immediates and offsets are two's complement)
    assert bpf.Instruction(bpf.JMP_JNE_K, 4, 0, 3, 136).encode() == bytes.fromhex(
        "5504030088000000")
    assert bpf.Instruction(bpf.ALU32_MOV_K, 0, imm=-1).encode() == bytes.fromhex(
        "b4000000ffffffff")
    assert bpf.Instruction(bpf.JMP_EXIT).encode() == bytes.fromhex("9500000000000000")


def test_empty_rule_list_denies_everything() -> None:
    program = bpf.build_program([])
    assert len(program) == 8  # prologue (6) + deny
    assert run(program, CHAR, R, 1, 3) == 0


@pytest.mark.parametrize(
    ("dev_type", "access", "major", "minor", "allowed"),
    [
        (CHAR, R | W, 1, 3, 1),  # /dev/null
        (CHAR, R, 1, 9, 1),  # /dev/urandom
        (CHAR, R | W, 136, 7, 1),  # a pts
        (CHAR, R | W, 10, 200, 1),  # /dev/net/tun
        (BLOCK, M, 8, 0, 1),  # mknod of anything is allowed ...
        (CHAR, M, 1, 1, 1),
        (BLOCK, R, 8, 0, 0),  # ... opening it is not
        (CHAR, R, 1, 1, 0),  # /dev/mem
        (CHAR, R, 10, 237, 0),  # /dev/loop-control
        (CHAR, R | M, 1, 1, 0),  # mixed access must be wholly allowed
    ],
)
def test_default_rules_decide_like_dockers_allow_list(
    dev_type: int, access: int, major: int, minor: int, allowed: int
) -> None:
    assert run(bpf.build_program(DEFAULT_DEVICE_RULES), dev_type, access, major, minor) == allowed


def test_access_letters_are_enforced_per_rule() -> None:
    program = bpf.build_program(["c 10:237 r"])
    assert run(program, CHAR, R, 10, 237) == 1
    assert run(program, CHAR, W, 10, 237) == 0
    assert run(program, CHAR, R | W, 10, 237) == 0
    assert run(program, BLOCK, R, 10, 237) == 0  # type matters
    assert run(program, CHAR, R, 10, 238) == 0  # minor matters


def test_allow_all_rule() -> None:
    program = bpf.build_program(["a"])
    assert run(program, BLOCK, R | W | M, 8, 0) == 1
    assert run(bpf.build_program(["a *:* rwm"]), CHAR, R, 1, 1) == 1


@pytest.mark.parametrize("text", ["", "x 1:3 rwm", "c 1:3", "c 1-3 rwm", "c 1:3 rwx", "c a:3 r"])
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(bpf.DeviceRuleError, match="invalid device rule"):
        bpf.build_program([text])
