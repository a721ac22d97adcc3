"""Model weights on disk: orbax-written variables plus a JSON record of the model config.

A checkpoint directory holds `variables/` (the Flax variables: params, batch_stats) and `meta/`
(kind, model config, provenance). Orbax writes into a temporary directory and renames it, so an
interrupted save never leaves a half-written checkpoint under the final name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import jax
import numpy as np
import orbax.checkpoint as ocp

from tanet_jax.models.model_config import ModelConfig

FORMAT = "tanet-jax-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be read as ours."""


def save_model(
    directory: str | os.PathLike,
    variables: Mapping[str, Any],
    *,
    kind: str,
    config: ModelConfig,
    extra: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write variables and their description atomically; refuses to clobber unless asked."""
    path = Path(directory).absolute()
    if path.exists():
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "model_config": config.to_dict(),
        **(dict(extra) if extra else {}),
    }
    tree = jax.tree.map(np.asarray, dict(variables))
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
        ckptr.save(
            path,
            args=ocp.args.Composite(
                variables=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta)
            ),
            force=overwrite,
        )
    return path


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """The JSON description of a checkpoint, with a clear error for anything else."""
    path = Path(directory).absolute()
    if path.is_file():
        raise CheckpointError(
            f"{path}: a file, not a tanet-jax checkpoint directory; convert PyTorch files with "
            "`python -m tanet_jax.convert --torch-checkpoint FILE --output DIR`"
        )
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint directory")
    if not (path / "meta").is_dir() or not (path / "variables").is_dir():
        hint = "convert PyTorch files with `python -m tanet_jax.convert`"
        if (path / "generator" / "meta").is_dir():
            hint = f"a training run keeps its trained generator in {path / 'generator'}"
        raise CheckpointError(
            f"{path}: not a tanet-jax checkpoint (expected 'meta/' and 'variables/' inside); {hint}"
        )
    meta = _restore(path, meta=ocp.args.JsonRestore())["meta"]
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}/meta: format is {found!r}, expected {FORMAT!r}")
    return meta


def load_model(directory: str | os.PathLike) -> tuple[dict[str, Any], ModelConfig, dict[str, Any]]:
    """(variables as numpy, model config, meta) of a checkpoint written by save_model."""
    path = Path(directory).absolute()
    meta = read_meta(path)
    restored = _restore(path, variables=ocp.args.StandardRestore())
    variables = jax.tree.map(np.asarray, restored["variables"])
    try:
        config = ModelConfig.from_dict(meta["model_config"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}/meta: no valid model_config ({e})") from None
    return variables, config, meta


def _restore(path: Path, **items: Any) -> Any:
    """Restore some items of a checkpoint; a damaged one is a CheckpointError naming the path."""
    try:
        with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
            return ckptr.restore(path, args=ocp.args.Composite(**items))
    except Exception as e:  # noqa: BLE001 - orbax and tensorstore raise many types for bad files
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(
            f"{path}: unreadable {'/'.join(items)} ({type(e).__name__}: {first})"
        ) from None
