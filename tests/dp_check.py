"""Run in a subprocess with 2 forced CPU devices: one update of each kind on 1 device with the
global batch, and on 2 devices with half each; prints the largest parameter difference."""

from __future__ import annotations

import json
import sys

import jax
import numpy as np
from flax import jax_utils

from tanet_jax.models.model_config import get_preset
from tanet_jax.train.steps import AXIS, Nets, init_state, make_updates


def batch(rng: np.random.Generator, n: int, s: int) -> dict[str, np.ndarray]:
    masks = np.zeros((n, 4, s, s), np.uint8)
    masks[:, :, s // 4 : s // 2, s // 3 : s // 2] = 1
    return {
        "frames": rng.integers(0, 256, (n, 4, s, s, 3), dtype=np.uint8),
        "masks": masks,
        "target": rng.integers(0, 256, (n, s, s, 3), dtype=np.uint8),
    }


def run(kind: str, devices: list, global_batch: dict[str, np.ndarray], state):
    d = len(devices)
    split = {k: v.reshape(d, v.shape[0] // d, *v.shape[1:]) for k, v in global_batch.items()}
    update = jax.pmap(make_updates(NETS)[kind], axis_name=AXIS, devices=devices)
    new, metrics = update(jax_utils.replicate(state, devices), split, jax_utils.replicate(jax.random.key(3), devices))
    return jax.device_get(jax_utils.unreplicate(new)), {k: float(v[0]) for k, v in metrics.items()}


MODEL = get_preset("tiny", dropout=0.0)
NETS = Nets.create(MODEL, "sgd", (0.5, 0.5, 0.5))

if __name__ == "__main__":
    assert jax.device_count() == 2, jax.devices()
    state = init_state(NETS, jax.random.key(0))
    data = batch(np.random.default_rng(0), 4, MODEL.input_size)
    report = {}
    for kind in ("generator", "appearance", "motion"):
        one, m1 = run(kind, jax.devices()[:1], data, state)
        two, m2 = run(kind, jax.devices(), data, state)
        diffs = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))), one, two)
        moved = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))), one, jax.device_get(state))
        report[kind] = {
            "max_param_diff": max(jax.tree.leaves(diffs)),
            "max_param_change": max(jax.tree.leaves(moved)),
            "metrics_1": m1, "metrics_2": m2,
        }
    json.dump(report, sys.stdout)
