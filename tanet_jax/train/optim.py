"""Optimisers; Adagrad with PyTorch's exact update (optax's differs in where eps goes)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class AdagradState(NamedTuple):
    """Running sum of squared gradients."""

    sum: optax.Params


def torch_adagrad(learning_rate: float, eps: float = 1e-10, initial_accumulator_value: float = 0.0) -> optax.GradientTransformation:
    """`torch.optim.Adagrad`: sum += g^2; p -= lr * g / (sqrt(sum) + eps)."""

    def init(params: optax.Params) -> AdagradState:
        return AdagradState(jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator_value), params))

    def update(grads: optax.Updates, state: AdagradState, params: optax.Params | None = None):
        del params
        total = jax.tree.map(lambda s, g: s + jnp.square(g), state.sum, grads)
        updates = jax.tree.map(lambda g, s: -learning_rate * g / (jnp.sqrt(s) + eps), grads, total)
        return updates, AdagradState(total)

    return optax.GradientTransformation(init, update)


def make_optimizer(name: str, learning_rate: float) -> optax.GradientTransformation:
    """adagrad (the release), adam (faster on small synthetic runs) or sgd."""
    if name == "adagrad":
        return torch_adagrad(learning_rate)
    if name == "adam":
        return optax.adam(learning_rate)
    if name == "sgd":
        return optax.sgd(learning_rate)
    raise ValueError(f"optimizer must be 'adagrad', 'adam' or 'sgd', got {name!r}")
