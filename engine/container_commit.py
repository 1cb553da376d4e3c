"""`docker commit`'s image: the container's filesystem changes as one more layer on its image,
and the container's config (the image's, with what the container was created with on top,
then `--change` instructions) as the new image's config, with a history entry saying who and
why. Pure: `Engine.commit_image` writes the layer and stores what this builds."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from engine.builder.config_instructions import apply_commit_changes
from engine.containers import ContainerSpec
from engine.errors import InvalidArgumentError
from engine.image_layout import LAYER_TAR_MEDIA_TYPE
from engine.images import rfc3339
from engine.references import parse_reference
from engine.runtime_spec import HealthcheckConfig

_NANOS = 1_000_000_000


@dataclass(frozen=True)
class CommitRequest:
    """Docker's commit options: the new image's name (none: a dangling image), the history
    entry's author and comment, config changes, and whether to freeze the container while its
    changes are read."""

    reference: str | None = None
    author: str = ""
    comment: str = ""
    changes: tuple[str, ...] = ()
    pause: bool = True

    def checked_reference(self) -> str | None:
        """The reference, validated (Docker refuses a digest: a commit can only be tagged)."""
        if not self.reference:
            return None
        ref = parse_reference(self.reference)
        if ref.digest:
            raise InvalidArgumentError(
                f"refusing to create a tag with a digest reference: {self.reference!r}",
                subject=self.reference,
            )
        return ref.canonical()

    def validate(self) -> None:
        """Raise InvalidArgumentError for a bad reference or change, before any work."""
        self.checked_reference()
        apply_commit_changes({"config": {}}, self.changes)


def _healthcheck_document(check: HealthcheckConfig) -> dict[str, Any]:
    return {
        "Test": list(check.test),
        "Interval": int(check.interval * _NANOS),
        "Timeout": int(check.timeout * _NANOS),
        "StartPeriod": int(check.start_period * _NANOS),
        "StartInterval": int(check.start_interval * _NANOS),
        "Retries": check.retries,
    }


def _command(config: dict[str, Any], spec: ContainerSpec) -> None:
    """Docker's rule: a container's entrypoint replaces the image's and drops its CMD."""
    if spec.entrypoint is not None:
        config["Entrypoint"] = list(spec.entrypoint)
        config["Cmd"] = list(spec.command) if spec.command is not None else None
    elif spec.command is not None:
        config["Cmd"] = list(spec.command)


def container_config(image_config: dict[str, Any], spec: ContainerSpec) -> dict[str, Any]:
    """The container's config as Docker keeps it: the image's, overridden by what it was
    created with (command, env, labels, user, working dir, stop signal, healthcheck, ports)."""
    config = copy.deepcopy(image_config)
    _command(config, spec)
    if spec.env:
        env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
        env.update(spec.env)
        config["Env"] = [f"{k}={v}" for k, v in env.items()]
    if spec.labels:
        config["Labels"] = {**(config.get("Labels") or {}), **spec.labels}
    if spec.user:
        config["User"] = spec.user
    if spec.working_dir:
        config["WorkingDir"] = spec.working_dir
    if spec.stop_signal:
        config["StopSignal"] = spec.stop_signal
    if spec.healthcheck is not None:
        config["Healthcheck"] = _healthcheck_document(spec.healthcheck)
    if spec.ports:
        exposed = dict(config.get("ExposedPorts") or {})
        exposed.update({f"{p.target}/{p.protocol}": {} for p in spec.ports})
        config["ExposedPorts"] = exposed
    return config


def committed_document(
    parent: dict[str, Any], spec: ContainerSpec, request: CommitRequest,
    layer_diff_id: str | None,
) -> dict[str, Any]:
    """The new image's config document: the parent's, with the container's config and the
    changes, the layer (None: the container changed nothing, no layer, as Docker) and a
    history entry (created_by: the container's command, as Docker records it)."""
    doc = copy.deepcopy(parent)
    config = container_config(parent.get("config") or {}, spec)
    doc["config"] = config
    created_by = " ".join(config.get("Cmd") or [])
    apply_commit_changes(doc, request.changes)
    now = rfc3339(int(time.time()))
    doc["created"] = now
    if request.author:
        doc["author"] = request.author
    if request.comment:
        doc["comment"] = request.comment
    entry: dict[str, Any] = {"created": now, "created_by": created_by}
    if request.author:
        entry["author"] = request.author
    if request.comment:
        entry["comment"] = request.comment
    if layer_diff_id is None:
        entry["empty_layer"] = True
    else:
        rootfs = doc.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), layer_diff_id]
    doc["history"] = [*doc.get("history", []), entry]
    return doc


def layer_descriptor(digest: str, size: int) -> dict[str, Any]:
    return {"mediaType": LAYER_TAR_MEDIA_TYPE, "digest": digest, "size": size}
