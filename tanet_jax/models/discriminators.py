"""Appearance and motion discriminators; they return logits (B,), or ReLU'd outputs in
release-compatibility mode (the release's quirk: a sigmoid applied after a ReLU)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from tanet_jax.models.model_config import ModelConfig
from tanet_jax.models import ops
from tanet_jax.models.c3d import DISCRIMINATOR_PLAN, C3DTrunk
from tanet_jax.models.layers import Conv2d, Dense

Array = jax.Array


def _as_channel(maps: Array, ndim: int) -> Array:
    """Maps given without a channel axis get one."""
    return maps[..., None] if maps.ndim == ndim - 1 else maps


class _Classifier(nn.Module):
    """The shared tail: flatten (NHWC order), fc4 + ReLU, Dropout, fc5 [+ ReLU if compat]."""

    hidden: int
    release_compat: bool
    dtype: jnp.dtype
    dropout: float = 0.5

    @nn.compact
    def __call__(self, x: Array, train: bool) -> Array:
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(Dense(self.hidden, self.dtype, name="fc4")(x))
        x = nn.Dropout(self.dropout, deterministic=not train or self.dropout == 0)(x)
        x = Dense(1, self.dtype, name="fc5")(x)
        if self.release_compat:
            x = nn.relu(x)
        return x[:, 0].astype(jnp.float32)


class AppearanceDiscriminator(nn.Module):
    """Scores an (image, map) pair: real when the map is the ground-truth mask of the image."""

    config: ModelConfig

    @nn.compact
    def __call__(self, images: Array, maps: Array, train: bool = False) -> Array:
        c, dt = self.config, self.config.compute_dtype
        x = jnp.concatenate([images, _as_channel(maps, images.ndim).astype(images.dtype)], axis=-1)
        for i, (width, k, s) in enumerate(zip(c.dapp_widths, (7, 5, 3), (2, 2, 1))):
            x = nn.relu(Conv2d(width, k, s, dtype=dt, name=f"conv{i + 1}")(x))
            if i < 2:
                x = ops.max_pool(ops.local_response_norm(x, 2), (3, 3), (2, 2))
        return _Classifier(c.dapp_fc, c.release_compat, dt, c.dropout, name="head")(x, train)


class MotionDiscriminator(nn.Module):
    """Scores a clip of frames with its maps, concatenated along time as in the release."""

    config: ModelConfig

    @nn.compact
    def __call__(self, clips: Array, maps: Array, train: bool = False) -> Array:
        c, dt = self.config, self.config.compute_dtype
        maps = _as_channel(maps, clips.ndim).astype(clips.dtype)
        if maps.shape[:-1] != clips.shape[:-1]:
            raise ValueError(f"maps {maps.shape} do not match clips {clips.shape}")
        x = jnp.concatenate([clips, jnp.repeat(maps, 3, axis=-1) if maps.shape[-1] == 1 else maps], axis=1)
        x = C3DTrunk(DISCRIMINATOR_PLAN, c.c3d_widths, dt, stacked=c.stacked_frames, name="trunk")(x)
        if x.shape[1] != 1:
            raise ValueError(f"motion discriminator expects 3-frame clips; trunk left {x.shape[1]} frames")
        x = nn.relu(Conv2d(c.dmot_conv, 3, 2, dtype=dt, name="conv_2D")(x[:, 0]))
        x = ops.max_pool(ops.local_response_norm(x, 2), (3, 3), (2, 2))
        return _Classifier(c.dmot_fc, c.release_compat, dt, c.dropout, name="head")(x, train)
