"""Training checkpoints (orbax CheckpointManager): the train state, the base rng, every
process's input-iterator state and the run's progress (its held-out evaluations so far, which
choose the exported generator), saved together so a resumed run continues exactly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import grain
import jax
import numpy as np
import orbax.checkpoint as ocp

from tanet_jax.weights import load_model


class Checkpoints:
    """Save every N steps (and on demand), keep the last k, restore the latest."""

    def __init__(self, directory: str | os.PathLike, every: int, keep: int) -> None:
        self.directory = Path(directory).absolute()
        self.every = max(every, 1)
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, save_interval_steps=1,
                                                 create=True, enable_async_checkpointing=False),
            item_handlers={
                "state": ocp.StandardCheckpointHandler(),
                "rng": ocp.StandardCheckpointHandler(),
                "data": grain.checkpoint.CheckpointHandler(),
                "progress": ocp.JsonCheckpointHandler(),
            },
        )

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, if any."""
        return self.manager.latest_step()

    def save(self, step: int, state: Any, rng_data: np.ndarray, iterator: Any, progress: dict[str, Any],
             force: bool = False) -> bool:
        """Write (state, rng, iterator, progress) at `step` if due (or forced); returns whether it did."""
        if not force and step % self.every:
            return False
        host_state = jax.device_get(state)
        return self.manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(host_state),
                rng=ocp.args.StandardSave({"key_data": np.asarray(rng_data)}),
                data=grain.checkpoint.CheckpointSave(iterator),
                progress=ocp.args.JsonSave(progress),
            ),
            force=force,
        )

    def restore(self, step: int, abstract_state: Any, iterator: Any) -> tuple[Any, np.ndarray, dict[str, Any]]:
        """(state, rng key data, progress) at `step`; the iterator is restored in place. A
        checkpoint written without a progress record gives an empty one."""
        items = dict(
            state=ocp.args.StandardRestore(abstract_state),
            rng=ocp.args.StandardRestore(),
            data=grain.checkpoint.CheckpointRestore(iterator),
        )
        has_progress = (self.directory / str(step) / "progress").exists()
        if has_progress:
            items["progress"] = ocp.args.JsonRestore()
        restored = self.manager.restore(step, args=ocp.args.Composite(**items))
        progress = restored["progress"] if has_progress else {}
        return restored["state"], np.asarray(restored["rng"]["key_data"]), progress

    def wait(self) -> None:
        """Block until pending writes are on disk."""
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.close()


def merge_pretrained(params: dict[str, Any], batch_stats: dict[str, Any], path: str, kind: str,
                     target: str = "generator") -> tuple[dict[str, Any], dict[str, Any]]:
    """Put a converted ResNet-18 / C3D / generator checkpoint into fresh variables, checking
    every shape. `target` 'motion_discriminator' puts a C3D under the trunk of that network."""
    variables, _, meta = load_model(path)
    if meta.get("kind") != kind:
        raise ValueError(f"{path}: holds a {meta.get('kind')!r} checkpoint, expected {kind!r}")
    params, batch_stats = dict(params), dict(batch_stats)
    for collection, tree in variables.items():
        dest = params if collection == "params" else batch_stats
        for name, sub in tree.items():
            key = "trunk" if (target == "motion_discriminator" and name == "motion") else name
            if key not in dest:
                raise ValueError(f"{path}: {collection}/{name} has no place in the {target}")
            _check_shapes(dest[key], sub, f"{path}: {collection}/{name}")
            dest[key] = jax.tree.map(np.asarray, sub)
    return params, batch_stats


def _check_shapes(want: Any, have: Any, where: str) -> None:
    from flax import traverse_util

    w = traverse_util.flatten_dict(want)
    h = traverse_util.flatten_dict(have)
    bad = [f"{'/'.join(k)}: {np.shape(h.get(k))} != {np.shape(v)}" for k, v in w.items()
           if k not in h or np.shape(h[k]) != np.shape(v)]
    if bad or set(h) - set(w):
        extra = [f"unexpected {'/'.join(k)}" for k in set(h) - set(w)]
        raise ValueError(f"{where} does not fit the model config: " + "; ".join(bad + extra))
