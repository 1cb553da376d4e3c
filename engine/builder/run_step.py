"""Pieces of a ``RUN`` step that need no kernel: its argv (heredocs included) and the mount
points it would leave behind (pure but for reading the image's layers)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.builder.heredoc import Heredoc, run_script
from engine.builder.layers import MergedView
from engine.builder.parser import Instruction

PIPES_DIR = "/dev/pipes"  # where BuildKit puts a `#!` heredoc to execute it


@dataclass(frozen=True)
class RunCommand:
    """The argv of a RUN, and the ``#!`` heredoc to stage at ``/dev/pipes/<name>`` when the
    argv executes one."""

    argv: tuple[str, ...]
    script: Heredoc | None = None


def run_command(instruction: Instruction, shell: list[str]) -> RunCommand:
    if instruction.exec_form is not None:
        return RunCommand(tuple(instruction.exec_form))
    if not instruction.heredocs:
        return RunCommand((*shell, instruction.args))
    text, script = run_script(instruction.args, instruction.heredocs)
    if script is not None:
        return RunCommand((*shell, f"{PIPES_DIR}/{script.name}"), script)
    return RunCommand((*shell, text))


def mount_stubs(view: MergedView, targets: list[str]) -> tuple[str, ...]:
    """The paths the runtime creates as mount points because the image lacks them: the
    first missing component of each target and everything below it, where the runtime
    makes them (the target resolved through the image's links, inside the image)."""
    stubs: list[str] = []
    for target in targets:
        try:
            resolved = view.resolve(target)
        except OSError:  # a link loop: the runtime refuses the mount, the step fails
            continue
        parts = [p for p in resolved.split("/") if p]
        for n in range(1, len(parts) + 1):
            rel = "/".join(parts[:n])
            if view.lookup(rel) is None:
                stubs.extend("/".join(parts[:m]) for m in range(n, len(parts) + 1))
                break
    return tuple(dict.fromkeys(stubs))
