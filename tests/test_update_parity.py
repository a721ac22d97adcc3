"""Whole training updates against the release's (tanet_jax/torch_reference.py), through the converter:
one SGD step with learning rate 1 of each update kind, so every parameter moves by exactly its
gradient, and the generator's BatchNorm running statistics after the update's forward passes."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import traverse_util  # noqa: E402

from tanet_jax import torch_reference as R  # noqa: E402
from tanet_jax.torch_reference import nchw, ncthw  # noqa: E402
from tanet_jax.models.model_config import get_preset  # noqa: E402
from tanet_jax.convert import convert_state_dict  # noqa: E402
from tanet_jax.train.steps import NetState, Nets, TrainState, make_updates  # noqa: E402

CONFIG = get_preset("tiny", dropout=0.0)
KEYS = ("appearance", "motion", "generator")


def _flat(tree) -> dict:
    return {k: np.asarray(v, np.float64) for k, v in traverse_util.flatten_dict(jax.device_get(tree)).items()}


def _torch_side(rng, batch):
    """The release's networks with random weights, the generator's head calibrated so its maps
    are not saturated; discriminators return logits (the default, no release quirk)."""
    gen = R.randomize_(R.TANetGenerator(CONFIG), 0).eval()
    s = CONFIG.input_size
    x = rng.random((1, s, s, 3), dtype=np.float32)
    R.calibrate_head_(gen, nchw(x), nchw(x), ncthw(rng.random((1, 3, s, s, 3), dtype=np.float32)))
    gen.train()
    dapp = R.randomize_(R.AppearanceD(CONFIG), 1).train()
    dmot = R.randomize_(R.MotionD(CONFIG), 2).train()
    for d in (dapp, dmot):
        d.fc5[0].p = 0.0  # dropout off on both sides, so the step is deterministic
        d.fc5[2] = torch.nn.Identity()  # the release's trailing ReLU (quirk) off
    nets = {"generator": gen, "appearance": dapp, "motion": dmot}
    opts = {k: torch.optim.SGD(m.parameters(), lr=1.0) for k, m in nets.items()}
    frames = torch.from_numpy(batch["frames"]).float().div(255).permute(0, 1, 4, 2, 3)
    target = torch.from_numpy(batch["target"]).float().div(255).permute(0, 3, 1, 2)
    updates = R.release_updates(gen, dapp, dmot, opts, frames, torch.from_numpy(batch["masks"]).float(), target)
    return nets, updates


def _variables(nets) -> dict:
    return {k: convert_state_dict(m.state_dict(), CONFIG).variables for k, m in nets.items()}


def _state(variables, nets: Nets) -> TrainState:
    net = lambda k, tx: NetState(variables[k]["params"], tx.init(variables[k]["params"]),
                                 variables[k].get("batch_stats", {}))
    return TrainState(jnp.zeros((), jnp.int32), net("generator", nets.tx_generator),
                      net("appearance", nets.tx_appearance), net("motion", nets.tx_motion))


def _batch(rng, b=2):
    s = CONFIG.input_size
    masks = np.zeros((b, 4, s, s), np.uint8)
    for i in range(b):
        y, x = rng.integers(10, s // 2, 2)
        masks[i, :, y: y + s // 3, x: x + s // 4] = 1
    return {"frames": rng.integers(0, 256, (b, 4, s, s, 3), dtype=np.uint8), "masks": masks,
            "target": rng.integers(0, 256, (b, s, s, 3), dtype=np.uint8)}


def _relative(ours: dict, ref: dict, before: dict) -> tuple[float, str, float]:
    """Relative L2 of the parameter changes over all leaves, and the worst single leaf."""
    num = den = 0.0
    worst, worst_err = "", 0.0
    for k in ref:
        d_ours, d_ref = ours[k] - before[k], ref[k] - before[k]
        e, n = np.sum((d_ours - d_ref) ** 2), np.sum(d_ref ** 2)
        num, den = num + e, den + n
        err = np.sqrt(e / max(n, 1e-30))
        if n > 1e-20 and err > worst_err:
            worst, worst_err = "/".join(k), err
    return float(np.sqrt(num / den)), worst, float(worst_err)


@pytest.mark.parametrize("kind", KEYS)
def test_update_matches_release(kind):
    rng = np.random.default_rng(0)
    batch = _batch(rng)
    torch_nets, torch_updates = _torch_side(rng, batch)
    before = _variables(torch_nets)
    nets = Nets.create(CONFIG, "sgd", (1.0, 1.0, 1.0), axis_name=None)
    new_state, metrics = jax.jit(make_updates(nets, axis_name=None)[kind])(
        _state(before, nets), batch, jax.random.key(0))
    torch_updates[kind]()
    after = _variables(torch_nets)

    ours = {"generator": new_state.generator, "appearance": new_state.appearance, "motion": new_state.motion}
    for key in KEYS:
        params_ours, params_ref = _flat(ours[key].params), _flat(after[key]["params"])
        if key == kind:  # the updated network moved by its gradient, as in the release
            err, leaf, leaf_err = _relative(params_ours, params_ref, _flat(before[key]["params"]))
            assert err < 1e-5 and leaf_err < 1e-3, f"{key}: relative L2 {err:.3g}, worst leaf {leaf} {leaf_err:.3g}"
            assert max(np.abs(params_ours[k] - _flat(before[key]["params"])[k]).max() for k in params_ours) > 1e-3
        else:  # the others did not move at all
            for k, v in _flat(before[key]["params"]).items():
                np.testing.assert_array_equal(params_ours[k], v)
    # the generator's running statistics after the update's train-mode forwards, in the release's order
    stats_ours, stats_ref = _flat(new_state.generator.batch_stats), _flat(after["generator"]["batch_stats"])
    stats_before = _flat(before["generator"]["batch_stats"])
    assert any(np.abs(stats_ref[k] - stats_before[k]).max() > 1e-3 for k in stats_ref)
    for k in stats_ref:
        np.testing.assert_allclose(stats_ours[k], stats_ref[k], rtol=1e-5, atol=1e-6, err_msg="/".join(k))
    assert np.isfinite(float(jax.tree.leaves(metrics)[0]))
