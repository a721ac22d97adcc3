"""The release's training inputs, derived on the device from a batch of frame windows."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array


def training_views(batch: dict[str, Any]) -> dict[str, Array]:
    """From windows of frames t-1..t+2 (uint8) build, as float32 in [0, 1]:
    frame t, mask t, target, clip (t-1, t, t+1); motion frames t..t+2, their masks, and each
    one's 2-frame clip ((t-1, t), (t, t+1), (t+1, t+2))."""
    frames = jnp.asarray(batch["frames"]).astype(jnp.float32) / 255.0
    masks = jnp.asarray(batch["masks"]).astype(jnp.float32)
    return {
        "frame": frames[:, 1],
        "mask": masks[:, 1],
        "target": jnp.asarray(batch["target"]).astype(jnp.float32) / 255.0,
        "clip": frames[:, 0:3],
        "motion_frames": frames[:, 1:4],
        "motion_masks": masks[:, 1:4],
        "motion_clips": jnp.stack([frames[:, 0:2], frames[:, 1:3], frames[:, 2:4]], axis=1),
    }
