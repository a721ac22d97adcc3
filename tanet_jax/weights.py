"""Model weights on disk: orbax-written variables plus a JSON record of the model config.

A checkpoint directory holds `variables/` (the Flax variables: params, batch_stats) and `meta/`
(kind, model config, provenance). Orbax writes into a temporary directory and renames it, so an
interrupted save never leaves a half-written checkpoint under the final name.
"""

from __future__ import annotations

import os
import shutil
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
    try:
        with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
            ckptr.save(
                path,
                args=ocp.args.Composite(
                    variables=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta)
                ),
                force=overwrite,
            )
    except BaseException:  # an error or Ctrl-C: orbax's temporary folder is not left behind
        for partial in path.parent.glob(f"{path.name}.orbax-checkpoint-tmp*"):
            shutil.rmtree(partial, ignore_errors=True)
        raise
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
        raise CheckpointError(f"{path}: {what_folder_is(path)}")
    meta = _restore(path, meta=ocp.args.JsonRestore())["meta"]
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}/meta: format is {found!r}, expected {FORMAT!r}")
    return meta


PASS_INSTEAD = ("pass a converted checkpoint (`python -m tanet_jax.convert --torch-checkpoint FILE --output DIR`) "
                "or a training run's trained generator, WORKDIR/generator")
TORCH_SUFFIXES = (".pkl", ".pth", ".pt", ".pickle", ".bin")


def _is_training_step(path: Path) -> bool:
    """An orbax CheckpointManager step folder of a training run (state/, rng/, data/)."""
    return path.name.isdigit() and ((path / "_CHECKPOINT_METADATA").is_file() or (path / "state").is_dir())


def _generator_of(workdir: Path) -> str:
    """Where a training run's trained generator is, and whether it is there yet."""
    generator = workdir / "generator"
    if (generator / "meta").is_dir():
        return f"pass the run's trained generator, {generator}"
    return f"pass the run's trained generator, {generator}, which is written at the first held-out evaluation that improves on the start (not yet there)"


def what_folder_is(path: Path) -> str:
    """What a folder that is not a model checkpoint holds, and what to pass instead."""
    children = sorted(path.iterdir())
    if not children:
        return f"an empty folder, not a tanet-jax checkpoint; {PASS_INSTEAD}"
    if _is_training_step(path):
        workdir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return (f"a training checkpoint (step {path.name}: the whole training state, for resuming), not a model "
                f"checkpoint; {_generator_of(workdir)}")
    if any(_is_training_step(c) for c in children):
        return f"a training run's checkpoints folder (steps to resume from); {_generator_of(path.parent)}"
    if (path / "checkpoints").is_dir() or (path / "generator" / "meta").is_dir():
        return f"a training run's workdir; {_generator_of(path)}"
    torch_files = [c.name for c in children if c.suffix.lower() in TORCH_SUFFIXES]
    if torch_files:
        return (f"holds PyTorch files ({', '.join(torch_files[:3])}), not a tanet-jax checkpoint; convert one with "
                f"`python -m tanet_jax.convert --torch-checkpoint {path / torch_files[0]} --output DIR`")
    return f"not a tanet-jax checkpoint (expected 'meta/' and 'variables/' inside); {PASS_INSTEAD}"


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
