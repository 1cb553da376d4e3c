"""Run a parsed Dockerfile on the engine: stages, instructions, layers, cache, final image.

Each step turns the stage's state (full OCI config + layer descriptors) into a new one and
stores it as a manifest in the content store — unregistered, so intermediate images never
clutter ``image ls``; the step cache points at them. ``RUN`` is executed in a real container of
ours created from the current state (registered as a dangling image only while the
container lives), and its overlay upper dir becomes the new layer (``Engine.commit_container``).
COPY/ADD/WORKDIR layers are written directly as tars. Output follows the classic
``docker build`` shape ("Step 2/7 : RUN …", " ---> Using cache", " ---> 1a2b3c4d5e6f").
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
import tarfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.builder.cache import BuildCache, step_key
from engine.builder.config_instructions import (
    DEFAULT_SHELL,
    apply_config_instruction,
    workdir_path,
)
from engine.builder.context import BuildContext, hash_tree
from engine.builder.errors import BuildError, DockerfileError
from engine.builder.heredoc import parse_marker, raw_words
from engine.builder.layers import LayerBuilder, MergedView
from engine.builder.mount_staging import Entries, MountStaging, sweep_stale
from engine.builder.named_contexts import NamedContext, find_named
from engine.builder.parser import Dockerfile, Instruction, parse_dockerfile
from engine.builder.run_mounts import MountType, RunMount, parse_mount
from engine.builder.run_step import PIPES_DIR, RunCommand, mount_stubs, run_command
from engine.builder.secrets import BuildSecret
from engine.builder.step_containers import step_labels
from engine.builder.words import heredoc_text, word, words
from engine.containers import ContainerSpec, MountSpec
from engine.errors import EngineError, InvalidArgumentError
from engine.image_layout import (
    CONFIG_MEDIA_TYPE,
    LAYER_TAR_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    canonical_json,
)
from engine.images import Image, host_architecture, rfc3339
from engine.process_config import resolve_user
from engine.references import parse_reference

if TYPE_CHECKING:
    from engine.api import Engine

Report = Callable[[str], None]
# Docker's predefined proxy args: usable without ARG, never persisted.
PREDEFINED_ARGS = frozenset(
    {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
     "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
)


def _noop(_line: str) -> None:
    pass


@dataclass(frozen=True)
class BuildOptions:
    """One build as the engine takes it, from `image build` or a service's `build:` section
    (compose.image_policy), so both build the same way."""

    context: Path
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    dockerfile_inline: str | None = None
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    network: str = "host"  # RUN steps: host (default, like buildah's rootful default) or none
    pull: bool = False  # pull base images from their registry first (never implicitly)
    secrets: tuple[BuildSecret, ...] = ()  # what RUN --mount=type=secret may read
    named_contexts: tuple[NamedContext, ...] = ()  # FROM / COPY --from / RUN --mount=from
    # RUN steps' sandbox (compose's build.extra_hosts, shm_size, ulimits, privileged)
    extra_hosts: tuple[str, ...] = ()  # "name=address" / "name:address"
    shm_size: int | None = None  # bytes of /dev/shm (default 64 MiB)
    ulimits: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (soft, hard)
    allow_insecure: bool = False  # entitlement security.insecure: RUN --security=insecure


def read_dockerfile_source(options: BuildOptions) -> tuple[str, str]:
    """The Dockerfile's text and the name its errors use (its path; `Dockerfile` for
    dockerfile_inline): one reader for the build and for `build --check`."""
    if options.dockerfile_inline is not None:
        return options.dockerfile_inline, "Dockerfile"
    path = Builder._dockerfile_path(options)
    assert path is not None
    try:
        return path.read_text(), str(path)
    except FileNotFoundError:
        raise BuildError(
            f"failed to read dockerfile: {path}: no such file", subject=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"failed to read dockerfile {path}: {exc}", subject=str(path)) from exc


@dataclass(frozen=True)
class BuildResult:
    """The built image with its step counts, so a caller can tell a rebuild that reused the
    step cache from one that ran every step."""

    image: Image
    steps: int
    cached_steps: int


@dataclass
class _Stage:
    """Mutable while the stage builds; frozen into a manifest after every step."""

    name: str | None
    index: int
    doc: dict[str, Any]
    layers: list[dict[str, Any]]
    manifest: str = ""
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False

    @property
    def config(self) -> dict[str, Any]:
        return self.doc.setdefault("config", {})

    def env(self) -> dict[str, str]:
        out = dict(item.partition("=")[::2] for item in self.config.get("Env") or [])
        return out

    def subst_env(self) -> dict[str, str]:
        """Variables visible to substitution: ARGs, overridden by ENV (Docker's order)."""
        values = {k: v for k, v in self.args.items() if v is not None}
        values.update(self.env())
        return values


class Builder:
    def __init__(self, engine: Engine, report: Report = _noop) -> None:
        self.engine = engine
        self.store = engine.images
        self.report = report
        self.cache = BuildCache(engine.layout.root)

    # ------------------------------------------------------------------ entry point

    def build(self, options: BuildOptions) -> BuildResult:
        dockerfile = self._read_dockerfile(options)
        context = BuildContext(options.context, dockerfile=self._dockerfile_path(options))
        for tag in options.tags:
            parse_reference(tag)  # fail before any work on a bad -t
        for secret in options.secrets:
            secret.check()
        self._named_dirs = _named_directories(options.named_contexts)
        _check_sandbox(options)
        sweep_stale(self.engine.layout.root)
        self.engine.sweep_build_orphans()  # what builds killed mid-step left
        stages_text = [i for i in dockerfile.instructions if i.keyword == "FROM"]
        names = [self._stage_name(i, dockerfile) for i in stages_text]
        if options.target is not None and options.target not in names:
            raise BuildError(
                f"target stage {options.target!r} could not be found in {dockerfile.file}",
                subject=options.target,
            )
        self.dockerfile = dockerfile
        self.context = context
        self.options = options
        self.used_args: set[str] = set()
        global_args: dict[str, str | None] = {}
        stages: list[_Stage] = []
        self._stages = stages
        self._globals: dict[str, str | None] = global_args
        stage: _Stage | None = None
        total = len(dockerfile.instructions)
        steps = cached = 0
        self._step = 0
        for instruction in dockerfile.instructions:
            if instruction.keyword == "FROM" and stage is not None and (
                options.target is not None and stage.name == options.target
            ):
                break
            self._step += 1
            self.report(f"Step {self._step}/{total} : {instruction.original}")
            try:
                if instruction.keyword == "ARG" and stage is None:
                    self._arg(global_args, instruction)
                    continue
                if instruction.keyword == "FROM":
                    stage = self._from(instruction, global_args, stages)
                    stages.append(stage)
                    self.report(f" ---> {self._short(stage)}")
                    continue
                assert stage is not None
                hit = self._execute(stage, instruction)
                steps += 1
                cached += hit
            except DockerfileError:
                raise
            except BuildError as exc:
                if exc.message.startswith(f"{dockerfile.file}:"):
                    raise
                raise BuildError(
                    f"{dockerfile.file}:{instruction.line}: {exc.message}",
                    subject=exc.subject, hint=exc.hint,
                ) from exc
            except EngineError as exc:
                raise BuildError(
                    f"{dockerfile.file}:{instruction.line}: {instruction.keyword}: {exc.message}",
                    subject=exc.subject,
                    hint=exc.hint,
                ) from exc
        assert stage is not None
        unused = set(options.build_args) - self.used_args - PREDEFINED_ARGS
        if unused:
            self.report(
                "[Warning] One or more build-args " + str(sorted(unused)) + " were not consumed"
            )
        if options.labels:
            labels = dict(stage.config.get("Labels") or {})
            labels.update(options.labels)
            stage.config["Labels"] = labels
            self._save(stage)
        data = self.store.content.read_bytes(stage.manifest)
        image = self.store.add_manifest(data, options.tags)
        self.report(f"Successfully built {image.short_id}")
        for tag in options.tags:
            self.report(f"Successfully tagged {parse_reference(tag).familiar()}")
        return BuildResult(image=image, steps=steps, cached_steps=cached)

    @staticmethod
    def _dockerfile_path(options: BuildOptions) -> Path | None:
        """The Dockerfile on disk (None for dockerfile_inline)."""
        if options.dockerfile_inline is not None:
            return None
        path = options.dockerfile or options.context / "Dockerfile"
        return path if path.is_absolute() else options.context / path

    def _read_dockerfile(self, options: BuildOptions) -> Dockerfile:
        text, file = read_dockerfile_source(options)
        return parse_dockerfile(text, file)

    @staticmethod
    def _stage_name(instruction: Instruction, dockerfile: Dockerfile) -> str | None:
        parts = instruction.args.split()
        if len(parts) == 3 and parts[1].lower() == "as":
            return parts[2].lower()
        if len(parts) != 1:
            raise DockerfileError(
                dockerfile.file, instruction.line, "FROM requires either one or three arguments"
            )
        return None

    def _short(self, stage: _Stage) -> str:
        return self.store.image_for_manifest(stage.manifest).short_id

    def _err(self, instruction: Instruction, message: str) -> DockerfileError:
        return DockerfileError(self.dockerfile.file, instruction.line, message)

    # ------------------------------------------------------------------ state

    def _save(self, stage: _Stage) -> str:
        config = self.store.content.put_bytes(canonical_json(stage.doc))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config.digest,
                       "size": config.size},
            "layers": stage.layers,
        }
        stage.manifest = self.store.content.put_bytes(canonical_json(manifest)).digest
        return stage.manifest

    def _load(self, stage: _Stage, manifest_digest: str) -> bool:
        """Adopt a cached step result; False when its blobs are gone (a miss)."""
        try:
            manifest = json.loads(self.store.content.read_bytes(manifest_digest))
            doc = json.loads(self.store.content.read_bytes(manifest["config"]["digest"]))
            if not all(self.store.content.exists(d["digest"]) for d in manifest["layers"]):
                return False
        except (EngineError, ValueError, KeyError):
            return False
        stage.doc = doc
        stage.layers = list(manifest["layers"])
        stage.manifest = manifest_digest
        return True

    def _view(self, stage: _Stage) -> MergedView:
        image = self.store.image_for_manifest(stage.manifest)
        return MergedView(self.store.layer_paths(image) if stage.layers else [])

    def _history(self, stage: _Stage, created_by: str, *, empty: bool) -> None:
        now = rfc3339(int(time.time()))
        stage.doc["created"] = now
        entry: dict[str, Any] = {"created": now, "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        stage.doc.setdefault("history", []).append(entry)

    def _add_layer(self, stage: _Stage, digest: str, size: int) -> None:
        stage.layers.append({"mediaType": LAYER_TAR_MEDIA_TYPE, "digest": digest, "size": size})
        stage.doc.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(
            digest
        )

    # ------------------------------------------------------------------ FROM / ARG

    def _arg(self, scope: dict[str, str | None], instruction: Instruction,
             stage: _Stage | None = None) -> None:
        env = stage.subst_env() if stage else {k: v for k, v in scope.items() if v is not None}
        for item in words(instruction.args, env, self.dockerfile.escape):
            name, sep, default = item.partition("=")
            if not name:
                raise self._err(instruction, f"ARG names nothing: {item!r}")
            if name in self.options.build_args:
                self.used_args.add(name)
                scope[name] = self.options.build_args[name]
            else:
                scope[name] = default if sep else None

    def _from(self, instruction: Instruction, global_args: dict[str, str | None],
              stages: list[_Stage]) -> _Stage:
        env = {k: v for k, v in global_args.items() if v is not None}
        parts = words(instruction.args, env, self.dockerfile.escape)
        name = parts[2].lower() if len(parts) == 3 else None
        base = parts[0]
        if not base:
            raise self._err(instruction, "FROM names an empty base image (unset build arg?)")
        named = find_named(self.options.named_contexts, base)
        previous = next((s for s in stages if s.name == base.lower()), None)
        stage = _Stage(name=name, index=len(stages), doc={}, layers=[])
        if named is not None:
            self._from_named(stage, named, instruction)
        elif previous is not None:
            self._load(stage, previous.manifest)
        elif base == "scratch":
            stage.doc = {
                "architecture": host_architecture(),
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": [],
            }
            self._save(stage)
        else:
            if self.options.pull:
                self.report(f"Pulling {parse_reference(base).familiar()}")
                self.engine.pull_image(base)
            image = self.store.find(base)
            if image is None:
                raise BuildError(
                    f"{self.dockerfile.file}:{instruction.line}: base image"
                    f" {parse_reference(base).familiar()} not found",
                    subject=base,
                    hint="import or pull it first (pycompose image import / image pull)",
                )
            stage.doc = copy.deepcopy(self.store.config_document(image))
            stage.layers = list(self.store.manifest(image).get("layers", []))
            stage.manifest = image.manifest_digest
            self._onbuild(stage, instruction)
        return stage

    def _from_named(self, stage: _Stage, named: NamedContext, instruction: Instruction) -> None:
        """``FROM name`` of a named context: its image, or its directory as the whole root
        filesystem (BuildKit's rule for a local context), one layer."""
        if named.image is not None:
            image = self._named_image(named)
            stage.doc = copy.deepcopy(self.store.config_document(image))
            stage.layers = list(self.store.manifest(image).get("layers", []))
            stage.manifest = image.manifest_digest
            self._onbuild(stage, instruction)
            return
        stage.doc = {"architecture": host_architecture(), "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
        entries = list(self._named_dirs[named.name.lower()].walk("."))[1:]
        key = step_key("scratch", f"FROM context:{named.name}", hash_tree(entries))
        self._save(stage)
        if self._cached(stage, key):
            return
        layer = LayerBuilder(self.store.content)
        for rel, path in entries:
            layer.add_path(path, rel)
        blob = layer.commit()
        self._add_layer(stage, blob.digest, blob.size)
        self._history(stage, f"FROM context:{named.name}", empty=False)
        self._save(stage)
        self.cache.put(key, stage.manifest)

    def _named_image(self, named: NamedContext) -> Image:
        assert named.image is not None
        image = self.store.find(named.image)
        if image is None:
            raise BuildError(
                f"named context {named.name}: image {parse_reference(named.image).familiar()}"
                " not found", subject=named.name,
                hint="import, pull or build that image first",
            )
        return image

    def _onbuild(self, stage: _Stage, instruction: Instruction) -> None:
        """Run the base image's ONBUILD triggers now, in this build's context (Docker's rule);
        they are not inherited further."""
        triggers = list(stage.config.get("OnBuild") or [])
        if not triggers:
            return
        stage.config["OnBuild"] = None
        for text in triggers:
            self.report(f" ---> Running ONBUILD trigger: {text}")
            parsed = parse_dockerfile(f"FROM scratch\n{text}\n", self.dockerfile.file)
            trigger = replace(parsed.instructions[1], line=instruction.line, original=text)
            self._execute(stage, trigger)
        self._save(stage)  # deterministic: the same doc gives the same manifest every build

    # ------------------------------------------------------------------ dispatch

    def _execute(self, stage: _Stage, instruction: Instruction) -> bool:
        """Run one instruction; True when it came from the cache."""
        kw = instruction.keyword
        if kw == "ARG":
            scope: dict[str, str | None] = {}
            self._arg(scope, instruction, stage)
            for key, value in scope.items():
                if value is None and key not in self.options.build_args:
                    value = self._globals.get(key)
                stage.args[key] = value
            self.report(" ---> (build arg)")
            return False
        if kw in ("RUN", "COPY", "ADD", "WORKDIR"):
            handler = {"RUN": self._run, "COPY": self._copy, "ADD": self._copy,
                       "WORKDIR": self._workdir}[kw]
            return handler(stage, instruction)
        return self._meta(stage, instruction)

    def _cached(self, stage: _Stage, key: str) -> bool:
        if self.options.no_cache:
            return False
        hit = self.cache.get(key)
        if hit and self._load(stage, hit):
            self.report(" ---> Using cache")
            self.report(f" ---> {self.store.image_for_manifest(hit).short_id}")
            return True
        return False

    def _finish(self, stage: _Stage, key: str) -> None:
        self._save(stage)
        self.cache.put(key, stage.manifest)
        self.report(f" ---> {self.store.image_for_manifest(stage.manifest).short_id}")

    # ------------------------------------------------------------------ metadata steps

    def _meta(self, stage: _Stage, instruction: Instruction) -> bool:
        before = canonical_json(stage.config)
        created_by = self._apply_meta(stage, instruction)
        key = step_key(stage.manifest, "meta", created_by, canonical_json(stage.config).decode(),
                       before.decode(), json.dumps(stage.doc.get("author")))
        if self._cached(stage, key):
            return True
        self._history(stage, created_by, empty=True)
        self._finish(stage, key)
        return False

    def _apply_meta(self, stage: _Stage, instruction: Instruction) -> str:
        try:
            stage.cmd_set = apply_config_instruction(
                stage.doc, instruction, stage.subst_env(), self.dockerfile.escape, stage.cmd_set
            )
        except InvalidArgumentError as exc:
            raise self._err(instruction, f"{instruction.keyword}: {exc.message}") from exc
        return f"/bin/sh -c #(nop) {instruction.original}"

    # ------------------------------------------------------------------ WORKDIR

    def _workdir(self, stage: _Stage, instruction: Instruction) -> bool:
        target = word(instruction.args, stage.subst_env(), self.dockerfile.escape)
        path = workdir_path(stage.config, target)
        stage.config["WorkingDir"] = path
        created_by = f"WORKDIR {path}"
        key = step_key(stage.manifest, created_by)
        if self._cached(stage, key):
            return True
        view = self._view(stage)
        if view.is_dir(path):
            self._history(stage, created_by, empty=True)
        else:
            layer = LayerBuilder(self.store.content)
            self._parents(layer, view, path.strip("/"), include_self=True)
            blob = layer.commit()
            self._add_layer(stage, blob.digest, blob.size)
            self._history(stage, created_by, empty=False)
        self._finish(stage, key)
        return False

    @staticmethod
    def _parents(layer: LayerBuilder, view: MergedView, rel: str, include_self: bool) -> None:
        parts = [p for p in rel.split("/") if p]
        upto = len(parts) if include_self else len(parts) - 1
        for n in range(1, upto + 1):
            sub = "/".join(parts[:n])
            if not view.is_dir(sub) and not layer.has(sub):
                layer.add_dir(sub, mtime=int(time.time()))

    # ------------------------------------------------------------------ COPY / ADD

    def _copy(self, stage: _Stage, instruction: Instruction) -> bool:
        kw, flags, esc = instruction.keyword, instruction.flags, self.dockerfile.escape
        env = stage.subst_env()
        inline: list[tuple[str, bytes]] = []
        if instruction.exec_form is not None:
            items = [word(i, env, esc) for i in instruction.exec_form]
        elif instruction.heredocs:
            items, inline = self._copy_items_with_heredocs(instruction, env)
        else:
            items = words(instruction.args, env, esc)
        if not items or len(items) + len(inline) < 2:
            raise self._err(instruction, f"{kw} requires at least two arguments")
        *sources, dest_text = items
        if kw == "ADD" and any(re.match(r"^[a-z]+://", s) for s in sources):
            raise self._err(instruction, "ADD from a URL is not supported; use RUN wget/curl")
        workdir = stage.config.get("WorkingDir") or "/"
        dest_is_dir = dest_text.endswith("/") or len(sources) + len(inline) > 1
        dest = posixpath.normpath(posixpath.join(workdir, dest_text)).strip("/")
        view = self._view(stage)
        try:  # BuildKit resolves the destination in the image: `/bin/` on a merged-usr image
            dest = view.resolve(dest).strip("/")  # is usr/bin (a layer dir replaced the link)
        except OSError as exc:
            raise self._err(instruction, f"{kw} failed: {dest_text}: {exc.strerror}") from exc
        uid = gid = None
        if "chown" in flags:
            lowers = [str(p) for p in view.lowers]
            uid, gid = resolve_user(word(flags["chown"], env, esc), lowers)
        mode = None
        if "chmod" in flags:
            try:
                mode = int(flags["chmod"], 8)
            except ValueError:
                raise self._err(instruction, f"invalid --chmod={flags['chmod']}") from None
        # Gather (source rel, host path, is-tar-to-extract) first, then hash for the cache key.
        plan: list[tuple[str, list[tuple[str, Path]], bool]] = []
        from_ref = flags.get("from")
        source_id = "context"
        named_dir = self._named_dirs.get(from_ref.lower()) if from_ref else None
        if named_dir is not None:
            plan = self._context_plan(kw, named_dir, sources, instruction,
                                      f"named context {from_ref}")
            source_id = f"context:{from_ref}"
        elif from_ref:
            source_view, source_id = self._from_source(from_ref, f"COPY --from={from_ref}")
            for pattern in sources:
                rel = posixpath.normpath("/" + pattern).strip("/")
                entries = list(source_view.walk(rel))
                if not entries:
                    raise BuildError(
                        f"{kw} failed: {pattern} not found in {from_ref}", subject=pattern
                    )
                plan.append((rel, entries, False))
        else:
            plan = self._context_plan(kw, self.context, sources, instruction, "build context")
        if len(plan) + len(inline) > 1:
            dest_is_dir = True
        inputs = hash_tree([e for _, entries, _ in plan for e in entries])
        shown = [*(f"<<{name}" for name, _ in inline), *sources]
        created_by = (f"{kw} {'--from=' + source_id + ' ' if from_ref else ''}"
                      f"{' '.join(shown)} {dest_text}")
        inline_key = [json.dumps([[n, d.decode("utf-8", "surrogateescape")] for n, d in inline])
                      ] if inline else []
        key = step_key(stage.manifest, created_by, inputs, f"{uid}:{gid}:{mode}", dest,
                       *inline_key)
        if self._cached(stage, key):
            return True
        layer = LayerBuilder(self.store.content)
        for rel, entries, extract in plan:
            top = entries[0][1]
            if extract:
                self._parents(layer, view, dest, include_self=True)
                self._extract(layer, top, dest, uid, gid)
                continue
            if top.is_dir() and not top.is_symlink():
                self._parents(layer, view, dest, include_self=True)
                base = rel.strip("/")
                for child_rel, child in entries[1:]:
                    sub = child_rel[len(base) + 1 :] if base not in ("", ".") else child_rel
                    layer.add_path(child, posixpath.join(dest, sub), uid=uid, gid=gid, mode=mode)
                continue
            if dest_is_dir or view.is_dir(dest):
                target = posixpath.join(dest, posixpath.basename(rel))
                self._parents(layer, view, dest, include_self=True)
            else:
                target = dest
                self._parents(layer, view, dest, include_self=False)
            layer.add_path(top, target, uid=uid, gid=gid, mode=mode)
        for name, data in inline:
            inside = dest_is_dir or view.is_dir(dest)
            target = posixpath.join(dest, name) if inside else dest
            self._parents(layer, view, target, include_self=False)
            layer.add_file(target, data, mode=0o644 if mode is None else mode,
                           uid=uid or 0, gid=gid or 0, mtime=int(time.time()))
        blob = layer.commit()
        self._add_layer(stage, blob.digest, blob.size)
        self._history(stage, created_by, empty=False)
        self._finish(stage, key)
        return False

    def _context_plan(self, kw: str, context: BuildContext, sources: list[str],
                      instruction: Instruction, where: str
                      ) -> list[tuple[str, list[tuple[str, Path]], bool]]:
        """(source, entries, extract?) of COPY/ADD sources in a local context (the build's
        or a named one): globs expanded, links followed only inside it."""
        plan = []
        for pattern in sources:
            try:
                matches = context.resolve(pattern)
            except InvalidArgumentError as exc:
                raise self._err(instruction, f"{kw} failed: {exc.message}") from exc
            if not matches:
                raise BuildError(
                    f"{kw} failed: file not found in {where} or excluded by"
                    f" .dockerignore: {pattern}",
                    subject=pattern,
                )
            for rel in matches:
                entries = list(context.walk(rel))
                host = entries[0][1]
                extract = kw == "ADD" and host.is_file() and _is_tar(host)
                plan.append((rel, entries, extract))
        return plan

    def _copy_items_with_heredocs(self, instruction: Instruction, env: dict[str, str]
                                  ) -> tuple[list[str], list[tuple[str, bytes]]]:
        """COPY/ADD words with ``<<NAME`` sources taken out as (file name, content): the
        markers are recognised on the raw words, so a quoted ``"<<x"`` stays a file name."""
        bodies = {h.name: h for h in instruction.heredocs}
        items: list[str] = []
        inline: list[tuple[str, bytes]] = []
        raw = raw_words(instruction.args)
        if raw and parse_marker(raw[-1]) is not None:
            raise self._err(instruction, f"{instruction.keyword} cannot accept a heredoc as a"
                            " destination")
        for text in raw:
            marker = parse_marker(text)
            if marker is None:
                items.extend(words(text, env, self.dockerfile.escape))
                continue
            heredoc = bodies[marker.name]
            content = heredoc.chomped
            if heredoc.expand:
                try:
                    content = heredoc_text(content, env)
                except InvalidArgumentError as exc:
                    raise self._err(instruction, f"heredoc {marker.name}: {exc.message}"
                                    ) from exc
            inline.append((marker.name, content.encode()))
        return items, inline

    def _from_source(self, ref: str, asker: str) -> tuple[MergedView, str]:
        """The stage or image `ref` names; `asker` (``COPY --from=…``, ``RUN --mount=…``)
        starts the error when there is none."""
        named = find_named(self.options.named_contexts, ref)
        if named is not None and named.image is not None:
            base = self._named_image(named)
            return MergedView(self.store.layer_paths(base)), base.manifest_digest
        for candidate in self._stages:
            if candidate.name == ref.lower() or (ref.isdigit() and candidate.index == int(ref)):
                return self._view(candidate), candidate.manifest
        image = self.store.find(ref)
        if image is None:
            raise BuildError(
                f"{asker}: no build stage or image of that name", subject=ref,
                hint="import or pull the image, or name an earlier stage (FROM … AS name)",
            )
        return MergedView(self.store.layer_paths(image)), image.manifest_digest

    def _extract(self, layer: LayerBuilder, archive_path: Path, dest: str,
                 uid: int | None, gid: int | None) -> None:
        with tarfile.open(archive_path, "r:*") as archive:
            for member in archive:
                name = posixpath.normpath("/" + member.name).strip("/")
                if not name or ".." in member.name.split("/"):
                    continue
                member.name = posixpath.join(dest, name)
                if uid is not None:
                    member.uid, member.gid = uid, gid or 0
                member.uname = member.gname = ""
                if member.islnk():
                    member.linkname = posixpath.join(dest, member.linkname.lstrip("/"))
                handle = archive.extractfile(member) if member.isreg() else None
                layer.add_member(member, handle.read() if handle is not None else None)

    # ------------------------------------------------------------------ RUN

    def _run(self, stage: _Stage, instruction: Instruction) -> bool:
        shell = stage.config.get("Shell") or list(DEFAULT_SHELL)
        command = run_command(instruction, shell)
        args = list(command.argv)
        image_env = stage.env()
        build_env = {k: v for k, v in stage.args.items() if v is not None and k not in image_env}
        network = self._run_network(instruction)
        insecure = self._run_insecure(instruction)
        mounts = self._run_mounts(stage, instruction)
        sources = [self._mount_source(m, instruction) for m in mounts]
        prefix = f"|{len(build_env)} " + " ".join(f"{k}={v}" for k, v in sorted(build_env.items()))
        created_by = (prefix + " " if build_env else "") + (
            " ".join(args) if instruction.exec_form is None else json.dumps(args)
        )
        # Heredoc bodies and bind-mounted content change the step; a cache mount's content
        # and a secret's value do not (only how they are mounted does).
        extra = [json.dumps([h.content for h in instruction.heredocs])] if (
            instruction.heredocs) else []
        extra += [f"{m.describe()}|{digest}" for m, (_, digest) in zip(mounts, sources,
                                                                       strict=True)]
        extra += [_sandbox_key(self.options)] if _sandbox_key(self.options) else []
        extra += ["security=insecure"] if insecure else []
        key = step_key(stage.manifest, "RUN", created_by, network, *extra)
        if self._cached(stage, key):
            return True
        with MountStaging(self.engine.layout.root) as staging:
            specs, tmpfs, secret_env = self._stage_mounts(staging, mounts, sources, instruction)
            if command.script is not None:
                specs.append(staging.script_dir(PIPES_DIR, command.script.name,
                                                command.script.chomped))
            stubs = mount_stubs(self._view(stage), [m.target for m in mounts if m.target])
            blob = self._run_container(stage, instruction, command, {**build_env, **secret_env},
                                       network, specs, tmpfs, stubs, insecure)
        self._add_layer(stage, blob.digest, blob.size)
        self._history(stage, created_by, empty=False)
        self._finish(stage, key)
        return False

    def _run_network(self, instruction: Instruction) -> str:
        """RUN --network: default (the build's: host unless `--network none`), none, host."""
        network = instruction.flags.get("network", self.options.network)
        if network == "default":
            network = self.options.network
        if network not in ("host", "none"):
            raise self._err(instruction, f"RUN --network={network}: use default, none or host")
        return network

    def _run_insecure(self, instruction: Instruction) -> bool:
        """RUN --security=insecure: the step runs privileged, when the build grants the
        security.insecure entitlement (compose's build.privileged), as BuildKit."""
        security = instruction.flags.get("security", "sandbox")
        if security not in ("sandbox", "insecure"):
            raise self._err(instruction, f"RUN --security={security}: use sandbox or insecure")
        if security == "insecure" and not self.options.allow_insecure:
            raise self._err(instruction, "RUN --security=insecure: entitlement"
                            " security.insecure is not allowed (build.privileged: true, or"
                            " build.entitlements: [security.insecure], grants it)")
        return security == "insecure"

    def _run_mounts(self, stage: _Stage, instruction: Instruction) -> list[RunMount]:
        env, esc = stage.subst_env(), self.dockerfile.escape
        workdir = stage.config.get("WorkingDir") or "/"
        out = []
        for value in instruction.mounts:
            try:
                out.append(parse_mount(value, lambda text: word(text, env, esc), workdir))
            except InvalidArgumentError as exc:
                raise self._err(instruction, f"RUN --mount={value}: {exc.message}") from exc
        targets = [m.target for m in out if m.target]
        if len(set(targets)) != len(targets):
            raise self._err(instruction, "RUN --mount: two mounts have the same target")
        return out

    def _mount_source(self, mount: RunMount, instruction: Instruction
                      ) -> tuple[Entries | None, str]:
        """What a bind (or a cache's `from`) shows, and the digest that keys it."""
        if mount.type is MountType.BIND or (mount.type is MountType.CACHE and mount.from_):
            rel = posixpath.normpath("/" + mount.source).strip("/") or "."
            named_dir = self._named_dirs.get(mount.from_.lower()) if mount.from_ else None
            if named_dir is not None:
                entries = list(named_dir.walk(rel))
                digest = hash_tree(entries) if entries else ""
            elif mount.from_:
                asker = f"RUN --mount=type={mount.type.value},from={mount.from_}"
                view, source_id = self._from_source(mount.from_, asker)
                entries = list(view.walk(rel))
                digest = f"{source_id}:{rel}"
            else:
                entries = list(self.context.walk(rel))
                digest = hash_tree(entries) if entries else ""
            if not entries:
                where = mount.from_ or "the build context"
                raise self._err(instruction, f"RUN --mount: {mount.source or '/'} not found"
                                f" in {where}")
            return entries, digest
        return None, ""

    def _stage_mounts(self, staging: MountStaging, mounts: list[RunMount],
                      sources: list[tuple[Entries | None, str]], instruction: Instruction,
                      ) -> tuple[list[MountSpec], dict[str, str], dict[str, str]]:
        specs: list[MountSpec] = []
        tmpfs: dict[str, str] = {}
        env: dict[str, str] = {}
        for mount, (entries, digest) in zip(mounts, sources, strict=True):
            if mount.type is MountType.BIND:
                assert entries is not None
                specs.append(staging.bind(mount, entries))
            elif mount.type is MountType.CACHE:
                specs.append(staging.cache(mount, entries, digest))
            elif mount.type is MountType.TMPFS:
                tmpfs[mount.target] = f"size={mount.size}" if mount.size else ""
            else:
                secret = next((s for s in self.options.secrets if s.id == mount.id), None)
                if secret is None:
                    if mount.required:
                        raise BuildError(
                            f"{self.dockerfile.file}:{instruction.line}: RUN"
                            f" --mount=type=secret: secret {mount.id} not found (pass it with"
                            " --secret id=…, or a service's build.secrets)",
                            subject=mount.id,
                        )
                    continue
                value = secret.read()
                if mount.target:
                    specs.append(staging.secret_file(mount, value))
                if mount.env:
                    env[mount.env] = value.decode("utf-8", "replace")
        specs.sort(key=lambda m: m.target.count("/"))  # a mount inside another comes after it
        return specs, tmpfs, env

    def _run_container(self, stage: _Stage, instruction: Instruction, command: RunCommand,
                       env: dict[str, str], network: str, mounts: list[MountSpec],
                       tmpfs: dict[str, str], stubs: tuple[str, ...],
                       insecure: bool = False) -> Any:
        before = [e.digest for e in self.store.index.read()]
        self.store.add_manifest(self.store.content.read_bytes(stage.manifest))
        name = f"pycompose-build-{uuid.uuid4().hex[:12]}"
        info = None
        try:
            spec = ContainerSpec(
                name=name,
                image=stage.manifest,
                command=command.argv,
                entrypoint=(),
                env=env,
                labels=step_labels(),
                working_dir=stage.config.get("WorkingDir") or None,
                user=stage.config.get("User") or None,
                network_mode=network,
                mounts=tuple(mounts),
                tmpfs=tmpfs,
                extra_hosts=self.options.extra_hosts,
                shm_size=self.options.shm_size,
                ulimits=dict(self.options.ulimits),
                privileged=insecure,
            )
            info = self.engine.create_container(spec)
            self.engine.start_container(info.id)
            for line in self.engine.logs(info.id, follow=True):
                self.report(line.text.rstrip("\n"))
            code = self.engine.wait_container(info.id)
            if code != 0:
                shown = instruction.original if instruction.heredocs else " ".join(command.argv)
                raise BuildError(
                    f"{self.dockerfile.file}:{instruction.line}: the command"
                    f" '{shown}' returned a non-zero code: {code}",
                    subject=instruction.original,
                )
            return self.engine.commit_container(info.id, stubs)
        finally:
            if info is not None:
                self.engine.remove_container(info.id, force=True)
            if stage.manifest not in before:
                self.store.drop_dangling(stage.manifest)


def _named_directories(contexts: tuple[NamedContext, ...]) -> dict[str, BuildContext]:
    """Lower-cased name -> the context of each named directory, checked up front."""
    out = {}
    for named in contexts:
        named.check()
        if named.directory is not None:
            out[named.name.lower()] = BuildContext(named.directory)
    return out


def _check_sandbox(options: BuildOptions) -> None:
    """The RUN steps' hosts and limits are refused before any step, not at the first RUN."""
    from engine.hosts import parse_extra_hosts
    from engine.rlimits import check_ulimit

    parse_extra_hosts(options.extra_hosts, "127.0.0.1", "build")
    for name, (soft, hard) in options.ulimits.items():
        check_ulimit("build", name, soft, hard)
    if options.shm_size is not None and options.shm_size <= 0:
        raise InvalidArgumentError(f"build: shm_size must be positive: {options.shm_size}")


def _sandbox_key(options: BuildOptions) -> str:
    """What the RUN steps' sandbox adds to their cache key (BuildKit keys them too)."""
    if not (options.extra_hosts or options.shm_size or options.ulimits):
        return ""
    return json.dumps([sorted(options.extra_hosts), options.shm_size,
                       sorted(options.ulimits.items())])


def _is_tar(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return tarfile.is_tarfile(path)
    return len(head) == 512 and head[257:262] == b"ustar"


__all__ = ["BuildOptions", "BuildResult", "Builder"]
