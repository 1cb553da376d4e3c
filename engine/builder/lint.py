"""`build --check`: BuildKit's Dockerfile checks on a parsed Dockerfile, without building.

Pure: the Dockerfile comes from the builder's own parser (engine.builder.parser); what only
the local image store knows (a base image's environment, for UndefinedVar) is asked through
`image_env`, and a stage whose base image is unknown is not checked for undefined variables
rather than warned about falsely. The `# check=skip=…;error=true` directive is honoured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from engine.builder import lint_rules as R
from engine.builder.lint_rules import Rule
from engine.builder.parser import Dockerfile, Instruction

# Args every FROM may use undeclared (BuildKit's platform args).
PLATFORM_ARGS = frozenset({
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
})
RESERVED_STAGE_NAMES = frozenset({"scratch", "context"})
EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
                      "WORKDIR"})
ONCE_PER_STAGE = ("CMD", "ENTRYPOINT", "HEALTHCHECK")
_SECRET_WORDS = "apikey|auth|credential|credentials|key|password|pword|passwd|secret|token"
_SECRET = rf"(?i)(?:_|^)(?:{_SECRET_WORDS})(?:_|$)"
_PUBLIC = r"(?i)(?:_|^)public(?:_|$)"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True)
class CheckWarning:
    """One rule's finding, at the lines of the instruction it is about."""

    rule: Rule
    detail: str
    line: int
    end_line: int


@dataclass(frozen=True)
class CheckResult:
    """What `build --check` reports for one Dockerfile: its warnings in line order, and
    whether the Dockerfile asked for them to fail the build (`# check=error=true`)."""

    warnings: tuple[CheckWarning, ...]
    error: bool

    @property
    def failed(self) -> bool:
        return self.error and bool(self.warnings)


@dataclass(frozen=True)
class DockerfileCheck:
    """One Dockerfile's check: its name and text (the report quotes its lines) and result."""

    file: str
    text: str
    result: CheckResult


@dataclass
class _Stage:
    """What a stage has defined so far: variables (None: unknown, its base image is not
    here), whether an absolute WORKDIR was set, and whether a SHELL was."""

    name: str | None
    defined: set[str] | None
    absolute_workdir: bool = False
    shell: bool = False
    once: dict[str, list[Instruction]] = field(default_factory=dict)


def _directive(check: str) -> tuple[frozenset[str], bool]:
    """`# check=skip=A,B;error=true`: the rules skipped (`all` for every one), and error."""
    skipped: set[str] = set()
    error = False
    for part in check.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == "skip":
            skipped.update(v.strip() for v in value.split(",") if v.strip())
        elif key.strip() == "error":
            error = value.strip().lower() in ("true", "1")
    return frozenset(skipped), error


def variables(text: str, escape: str = "\\") -> Iterator[str]:
    """Each `$NAME` / `${NAME…}` in `text` (not escaped). One with a default (`${X:-d}`) is
    a use too: BuildKit's lexer looks every such name up, and reports those not found."""
    pattern = rf"(?<!{re.escape(escape)})\$(?:\{{({_NAME})[^}}]*\}}|({_NAME}))"
    for match in re.finditer(pattern, text):
        yield match[1] or match[2]


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def suggestion(name: str, options: set[str]) -> str | None:
    """The defined name `name` was probably meant to be: the same but for case, else the
    nearest within two edits (BuildKit's suggest: a Levenshtein distance under 3)."""
    for option in sorted(options):
        if option.lower() == name.lower():
            return option
    near = sorted((_distance(name, o), o) for o in options)
    return near[0][1] if near and near[0][0] < 3 else None


def _declared(args: str) -> Iterator[tuple[str, str | None]]:
    """The names (and default values) an `ARG` declares: `ARG A B=1`."""
    for token in args.split():
        name, sep, value = token.partition("=")
        yield name, value if sep else None


def _env_pairs(instruction: Instruction) -> tuple[list[tuple[str, str]], bool]:
    """ENV/LABEL's key/value pairs, and whether written in the legacy `KEY value` form."""
    import shlex

    args = instruction.args
    first = args.split(None, 1)
    if first and "=" not in first[0]:
        return [(first[0], first[1] if len(first) > 1 else "")], True
    try:
        tokens = shlex.split(args, posix=True)
    except ValueError:
        tokens = args.split()
    return [(k, v) for k, _, v in (t.partition("=") for t in tokens)], False


class _Checker:
    """One pass over the instructions, stage by stage, collecting warnings."""

    def __init__(
        self, dockerfile: Dockerfile, build_args: dict[str, str],
        image_env: Callable[[str], frozenset[str] | None],
    ) -> None:
        self.dockerfile = dockerfile
        self.build_args = build_args
        self.image_env = image_env
        self.warnings: list[CheckWarning] = []
        self.global_args: dict[str, str | None] = {}
        self.stages: dict[str, _Stage] = {}
        self.stage: _Stage | None = None

    def warn(self, rule: Rule, detail: str, at: Instruction) -> None:
        self.warnings.append(CheckWarning(rule, detail, at.line, max(at.end_line, at.line)))

    def run(self) -> list[CheckWarning]:
        for instruction in self.dockerfile.instructions:
            if instruction.empty_continuation:
                self.warn(Rule.NO_EMPTY_CONTINUATION, R.empty_continuation(), instruction)
            if instruction.keyword == "FROM":
                self._finish_stage()
                self._from(instruction)
            elif self.stage is None:
                for name, value in _declared(instruction.args):  # global ARGs
                    self.global_args[name] = value
                    self._secret("ARG", name, instruction)
            else:
                self._in_stage(self.stage, instruction)
        self._finish_stage()
        self._casing()
        return sorted(self.warnings, key=lambda w: w.line)

    # ---- FROM ------------------------------------------------------------------------------
    def _from(self, at: Instruction) -> None:
        words = at.args.split()
        base = words[0] if words else ""
        name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
        if name is not None:
            self._stage_name(at, words[1], name)
        self._from_args(at, base)
        platform = at.flags.get("platform", "")
        if platform in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
            self.warn(Rule.REDUNDANT_TARGET_PLATFORM, R.redundant_target_platform(platform), at)
        expanded = self._expand_global(base, self.build_args)
        parent = self.stages.get(expanded.lower())
        if parent is not None:
            defined = None if parent.defined is None else set(parent.defined)
            absolute = parent.absolute_workdir
        else:
            env = frozenset() if expanded == "scratch" else self.image_env(expanded)
            defined = None if env is None else set(env)
            absolute = False
        self.stage = _Stage(name.lower() if name else None, defined, absolute)

    def _stage_name(self, at: Instruction, as_word: str, name: str) -> None:
        from_word = at.original.split(None, 1)[0]
        # a FROM of mixed case is ConsistentInstructionCasing's, not this rule's
        if (from_word == from_word.lower() and as_word != as_word.lower()) or (
            from_word == from_word.upper() and as_word != as_word.upper()
        ):
            self.warn(Rule.FROM_AS_CASING, R.from_as_casing(from_word, as_word), at)
        if name != name.lower():
            self.warn(Rule.STAGE_NAME_CASING, R.stage_name_casing(name), at)
        if name.lower() in RESERVED_STAGE_NAMES:
            self.warn(Rule.RESERVED_STAGE_NAME, R.reserved_stage_name(name.lower()), at)
        if name.lower() in self.stages:
            self.warn(Rule.DUPLICATE_STAGE_NAME, R.duplicate_stage_name(name.lower()), at)

    def _from_args(self, at: Instruction, base: str) -> None:
        names = list(variables(base, self.dockerfile.escape))
        declared = set(self.global_args) | PLATFORM_ARGS
        for name in names:
            if name not in declared:
                hint = suggestion(name, set(self.global_args))
                self.warn(Rule.UNDEFINED_ARG_IN_FROM, R.undefined_arg_in_from(name, hint), at)
        if names and all(n in declared for n in names):
            expanded = self._expand_global(base, {})
            if not _valid_base(expanded, set(self.stages)):
                self.warn(Rule.INVALID_DEFAULT_ARG_IN_FROM, R.invalid_default_arg_in_from(base),
                          at)

    def _expand_global(self, text: str, given: dict[str, str]) -> str:
        values = {k: v or "" for k, v in self.global_args.items()}
        values.update({k: v for k, v in given.items() if k in self.global_args})

        def value(match: re.Match[str]) -> str:
            name = match[1] or match[3]
            found = values.get(name, "")
            rest = match[2] or ""
            if rest.startswith((":-", "-")) and not found:
                return rest.split("-", 1)[1]
            return found

        return re.sub(rf"\$(?:\{{({_NAME})([^}}]*)\}}|({_NAME}))", value, text)

    def _finish_stage(self) -> None:
        stage = self.stage
        if stage is None:
            return
        for keyword, seen in stage.once.items():
            for earlier in seen[:-1]:
                self.warn(Rule.MULTIPLE_INSTRUCTIONS_DISALLOWED, R.multiple_instructions(keyword),
                          earlier)
        if stage.name:
            self.stages.setdefault(stage.name, stage)
        self.stage = None

    # ---- inside a stage --------------------------------------------------------------------
    def _in_stage(self, stage: _Stage, at: Instruction) -> None:
        keyword = at.keyword
        if keyword in EXPANDED or keyword == "ARG":
            self._undefined(stage, at)
        if keyword == "ARG":
            for name, _value in _declared(at.args):
                self._secret("ARG", name, at)
                if stage.defined is not None:
                    stage.defined.add(name)
        elif keyword in ("ENV", "LABEL"):
            pairs, legacy = _env_pairs(at)
            if legacy:
                self.warn(Rule.LEGACY_KEY_VALUE_FORMAT, R.legacy_key_value(keyword), at)
            if keyword == "ENV":
                for name, _value in pairs:
                    self._secret("ENV", name, at)
                    if stage.defined is not None:
                        stage.defined.add(name)
        elif keyword == "MAINTAINER":
            self.warn(Rule.MAINTAINER_DEPRECATED, R.maintainer_deprecated(), at)
        elif keyword == "SHELL":
            stage.shell = True
        elif keyword in ("CMD", "ENTRYPOINT") and at.exec_form is None and not stage.shell:
            self.warn(Rule.JSON_ARGS_RECOMMENDED, R.json_args_recommended(keyword), at)
        elif keyword == "WORKDIR":
            path = at.args.strip().strip("\"'")
            if path.startswith(("/", "$")):
                stage.absolute_workdir = True
            elif not stage.absolute_workdir:
                self.warn(Rule.WORKDIR_RELATIVE_PATH, R.workdir_relative_path(path), at)
        elif keyword == "EXPOSE":
            self._expose(at)
        if keyword in ONCE_PER_STAGE:
            stage.once.setdefault(keyword, []).append(at)

    def _undefined(self, stage: _Stage, at: Instruction) -> None:
        if stage.defined is None:
            return  # the base image's environment is not known here
        text = at.args
        if at.keyword == "ARG":
            text = " ".join(v for _n, v in _declared(at.args) if v)
        for name in variables(text, self.dockerfile.escape):
            if name not in stage.defined:
                hint = suggestion(name, stage.defined)
                self.warn(Rule.UNDEFINED_VAR, R.undefined_var(name, hint), at)

    def _expose(self, at: Instruction) -> None:
        for port in at.args.split():
            if "$" in port:
                continue
            if ":" in port:
                self.warn(Rule.EXPOSE_INVALID_FORMAT, R.expose_invalid_format(port), at)
            proto = port.partition("/")[2]
            if proto and proto != proto.lower():
                self.warn(Rule.EXPOSE_PROTO_CASING, R.expose_proto_casing(port), at)

    def _secret(self, keyword: str, name: str, at: Instruction) -> None:
        if re.search(_SECRET, name) and not re.search(_PUBLIC, name):
            self.warn(Rule.SECRETS_USED_IN_ARG_OR_ENV, R.secrets_in_arg_or_env(keyword, name), at)

    # ---- the whole file --------------------------------------------------------------------
    def _casing(self) -> None:
        """BuildKit counts the self-consistent (all upper or all lower) instruction words of
        the stages; every word not in the majority's case is warned about."""
        words = [(i, i.original.split(None, 1)[0]) for i in self._stage_instructions()]
        lower = sum(1 for _, w in words if w == w.lower())
        upper = sum(1 for _, w in words if w == w.upper())
        majority = "lowercase" if lower > upper else "uppercase"
        for instruction, word in words:
            wanted = word.lower() if majority == "lowercase" else word.upper()
            if word != wanted:
                self.warn(Rule.CONSISTENT_INSTRUCTION_CASING,
                          R.instruction_casing(word, majority), instruction)

    def _stage_instructions(self) -> list[Instruction]:
        found = self.dockerfile.instructions
        first = next(i for i, ins in enumerate(found) if ins.keyword == "FROM")
        return list(found[first:])


def _valid_base(name: str, stages: set[str]) -> bool:
    from engine.errors import InvalidArgumentError
    from engine.references import parse_reference

    if not name:
        return False
    if name == "scratch" or name.lower() in stages:
        return True
    try:
        parse_reference(name)
    except InvalidArgumentError:
        return False
    return True


def check_dockerfile(
    dockerfile: Dockerfile, build_args: dict[str, str] | None = None,
    image_env: Callable[[str], frozenset[str] | None] = lambda _ref: None,
) -> CheckResult:
    """BuildKit's checks on `dockerfile` (engine.builder.lint_rules lists them), less those
    its `# check=skip=` directive skips."""
    skipped, error = _directive(dockerfile.check)
    if "all" in skipped:
        return CheckResult((), error)
    found = _Checker(dockerfile, dict(build_args or {}), image_env).run()
    kept = tuple(w for w in found if w.rule.value not in skipped)
    return CheckResult(kept, error)
