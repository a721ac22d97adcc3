"""Which tracker produced a set of results: its full config (tanet_jax.tracking.config: a config
file plus `--config.key=value` overrides), the attention source, the checkpoint's content digest and the
package's source digest, hashed so that results of one configuration (or of other code) are
never reused for another."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import ml_collections
import numpy as np

from tanet_jax.tracking import build
# the tracker config and its flags (tanet_jax.tracking.config), under the names callers import from here
from tanet_jax.tracking.config import (CONFIG_HELP, add_tracker_arguments, apply_overrides, config_from_args,  # noqa: F401
                                       load_config, split_overrides)

DESCRIPTIONS = {
    "none": "none (the local tracker alone, no global search candidates)",
    "groundtruth": "groundtruth (box masks from the annotations: an upper bound, not a tracker)",
    "correlation": "correlation (a correlation filter trained on the whole first frame, run over each frame; no learned weights)",
}


PACKAGE = Path(__file__).resolve().parents[1]  # the tanet_jax package: its source decides every result
SOURCE_SUFFIXES = (".py", ".json", ".txt")  # code and the data tables it reads (frame ranges, attributes)


def tracker_code_digest(*extra: str | Path) -> str:
    """12 hex digits of the SHA-256 of the whole tanet_jax package's source (every .py file and the
    data tables, by relative path) and `extra` files: the tracker, the attention model, inference,
    preprocessing and readers all decide the boxes, so results of any other code are never reused."""
    h = hashlib.sha256()
    files = sorted(p for p in PACKAGE.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts
                   and p.is_file())
    for path in files:
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for path in map(Path, extra):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def record_digest(record: Mapping[str, Any]) -> str:
    """12 hex digits of the SHA-256 of a JSON record (sorted keys): the key of one configuration's results."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _arrays(tree: Any, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
    """(path, array) of every leaf of nested mappings of arrays."""
    if isinstance(tree, Mapping):
        for key in sorted(tree, key=str):
            yield from _arrays(tree[key], f"{prefix}/{key}")
    else:
        yield prefix, np.asarray(tree)


def checkpoint_sha256(path: str | Path) -> str:
    """SHA-256 of what a checkpoint holds: its kind, model config and every array's name, dtype,
    shape and values; not orbax's files, whose timestamps differ between two saves of the same
    weights. A checkpoint that cannot be read is a CheckpointError naming it."""
    from tanet_jax.weights import load_model  # orbax: only when a checkpoint is named

    variables, config, meta = load_model(path)
    h = hashlib.sha256(json.dumps({"kind": meta.get("kind"), "model_config": config.to_dict()},
                                  sort_keys=True).encode())
    for name, array in _arrays(variables):
        array = np.ascontiguousarray(array)
        h.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode() + array.tobytes())
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class TrackerSpec:
    """One tracker configuration: settings, attention name, checkpoint (path and content digest)
    and the package source's digest."""

    config: dict[str, Any]
    attention: str = "none"
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    # the package source's digest when the spec is made: one for all trackers of a run, taken before tracking
    code: str = dataclasses.field(default_factory=tracker_code_digest)

    @classmethod
    def create(cls, config: ml_collections.ConfigDict | dict[str, Any], attention: str,
               checkpoint: str | None = None) -> "TrackerSpec":
        """Check the attention name and checkpoint, hash the checkpoint."""
        if attention not in build.ATTENTIONS:
            raise ValueError(f"unknown attention {attention!r}; choose one of {', '.join(build.ATTENTIONS)}")
        if attention == "tanet" and not checkpoint:
            raise ValueError("--attention tanet needs --checkpoint DIR (converted official weights or your "
                             "own training's generator); no model is used unless you name it")
        if checkpoint and attention == "tanet" and not Path(checkpoint).exists():
            raise ValueError(f"{checkpoint}: no such checkpoint")
        sha = checkpoint_sha256(checkpoint) if checkpoint and attention == "tanet" else None
        plain = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else dict(config)
        return cls(json.loads(json.dumps(plain)), attention, checkpoint if attention == "tanet" else None, sha)

    def for_kind(self, kind: str) -> "TrackerSpec":
        """The spec a tracker kind runs: 'local' never uses attention."""
        return self if kind == "joint" else dataclasses.replace(self, attention="none", checkpoint=None,
                                                                checkpoint_sha256=None)

    def attention_source(self) -> str:
        """Which model gave the attention, in words (with the checkpoint's SHA-256)."""
        if self.attention == "tanet":
            return f"tanet (TANet generator from {self.checkpoint}, sha256 {self.checkpoint_sha256})"
        return DESCRIPTIONS.get(self.attention, self.attention)

    def record(self) -> dict[str, Any]:
        """Everything that decides the boxes (what the digest hashes), plus the checkpoint path."""
        return {"attention": self.attention, "attention_source": self.attention_source(),
                "checkpoint": self.checkpoint, "checkpoint_sha256": self.checkpoint_sha256, "config": self.config,
                "tracker_code_sha256": self.code}

    def digest(self) -> str:
        """12 hex digits of the SHA-256 of config, attention, checkpoint content (not its path or
        orbax's files) and the package's source."""
        return record_digest({"attention": self.attention, "checkpoint_sha256": self.checkpoint_sha256,
                              "config": self.config, "code": self.code})


def provenance() -> dict[str, Any]:
    """Package version, date and machine, for report.json."""
    try:
        version = metadata.version("tanet-jax")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    return {"package": "tanet-jax", "version": version,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"node": platform.node(), "system": platform.platform(), "processor": platform.machine(),
                        "python": platform.python_version()}}


def specs_from_args(args: Any, overrides: Sequence[tuple[str, str]]) -> list[TrackerSpec]:
    """One TrackerSpec per --attention name (ValueError with a one-line reason if they can't)."""
    config = config_from_args(args, overrides)
    names = [a.strip() for a in str(args.attention).split(",") if a.strip()] or ["none"]
    return [TrackerSpec.create(config, name, args.checkpoint) for name in names]


def spec_from_args(args: Any, overrides: Sequence[tuple[str, str]]) -> TrackerSpec:
    """The TrackerSpec the shared flags describe (ValueError with a one-line reason if they can't)."""
    specs = specs_from_args(args, overrides)
    if len(specs) != 1:
        raise ValueError(f"--attention takes one name here, got {args.attention!r}")
    return specs[0]
