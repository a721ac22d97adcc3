"""The release's losses, computed from logits (BCE of a sigmoid is BCE-with-logits)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

Array = jax.Array


def bce_with_logits(logits: Array, labels: Array | float) -> Array:
    """Mean binary cross-entropy of sigmoid(logits) against labels (nn.BCELoss's mean), in
    float32 whatever the compute dtype (mixed precision keeps losses in float32)."""
    logits = jnp.asarray(logits).astype(jnp.float32)
    labels = jnp.broadcast_to(jnp.asarray(labels, logits.dtype), logits.shape)
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels))


def discriminator_loss(real_logits: Array, fake_logits: Array) -> Array:
    """Real -> 1, fake -> 0 (the two BCE terms summed)."""
    return bce_with_logits(real_logits, 1.0) + bce_with_logits(fake_logits, 0.0)


def generator_loss(
    map_logits: Array, masks: Array, appearance_logits: Array, motion_logits: Array,
    appearance_weight: float, motion_weight: float,
) -> tuple[Array, dict[str, Array]]:
    """BCE(map, mask) + wa * BCE(D_app(fake), 1) + wm * BCE(D_mot(fake), 1)."""
    parts = {
        "g_bce": bce_with_logits(map_logits, masks),
        "g_adv_appearance": bce_with_logits(appearance_logits, 1.0),
        "g_adv_motion": bce_with_logits(motion_logits, 1.0),
    }
    total = parts["g_bce"] + appearance_weight * parts["g_adv_appearance"] + motion_weight * parts["g_adv_motion"]
    return total, parts


def accuracy(real_logits: Array, fake_logits: Array) -> dict[str, Array]:
    """How often the discriminator is right on real and on fake samples (threshold: p = 0.5)."""
    return {"acc_real": jnp.mean(real_logits > 0), "acc_fake": jnp.mean(fake_logits < 0)}


def step_kind(n: int, appearance_every: int = 5, motion_every: int = 3) -> str:
    """The release's schedule on a counter n starting at 1: n % 5 == 1 -> appearance D,
    else n % 3 == 1 -> motion D, else generator."""
    if n % appearance_every == 1 % appearance_every:
        return "appearance"
    if n % motion_every == 1 % motion_every:
        return "motion"
    return "generator"
