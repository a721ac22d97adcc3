"""The two model formulations (per-frame + Winograd for CPU; frames stacked on the batch, no
Winograd, for GPU/TPU) compute the release's function: parity with the PyTorch reference for the
stacked one on the CPU at tiny size, and the same training update as the per-frame one."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tanet_jax.models.model_config import get_preset
from tanet_jax.train.steps import Nets, init_state, make_updates

STACKED = get_preset("tiny", formulation="stacked")
PER_FRAME = get_preset("tiny", formulation="per_frame")


def test_auto_is_per_frame_on_cpu_stacked_elsewhere():
    auto = get_preset("tiny")
    assert auto.formulation == "auto"
    assert auto.stacked_frames == (jax.default_backend() != "cpu")
    assert STACKED.stacked_frames and not PER_FRAME.stacked_frames
    with pytest.raises(ValueError, match="formulation must be"):
        get_preset("tiny", formulation="batched")


@pytest.mark.parametrize("t", [2, 3])
def test_stacked_generator_matches_release(rng, t):
    torch = pytest.importorskip("torch")
    from helpers import assert_not_saturated, assert_parity, inputs, reference_generator

    from tanet_jax.convert import convert_state_dict
    from tanet_jax.models import Generator
    from tanet_jax.torch_reference import nchw, ncthw

    ref = reference_generator(STACKED, rng)
    frames, targets, clips = inputs(rng, STACKED, t=t)
    with torch.no_grad():
        expected = ref(nchw(frames), nchw(targets), ncthw(clips)).numpy()
    assert_not_saturated(expected)
    variables = convert_state_dict(ref.state_dict(), STACKED).variables
    logits = Generator(STACKED).apply(variables, frames, targets, clips)
    assert_parity(jax.nn.sigmoid(logits), expected)


def test_stacked_motion_discriminator_matches_release(rng):
    torch = pytest.importorskip("torch")
    from helpers import assert_parity, inputs

    from tanet_jax import torch_reference as R
    from tanet_jax.convert import convert_state_dict
    from tanet_jax.models import MotionDiscriminator
    from tanet_jax.torch_reference import ncthw

    ref = R.randomize_(R.MotionD(STACKED), 3).eval()
    clips = inputs(rng, STACKED, batch=3)[2]
    maps = rng.random(clips.shape[:-1], dtype=np.float32)
    captured = {}
    ref.fc5[1].register_forward_hook(lambda m, i, o: captured.setdefault("o", o))
    with torch.no_grad():
        ref(ncthw(clips), ncthw(np.repeat(maps[..., None], 3, axis=-1)))
    variables = convert_state_dict(ref.state_dict(), STACKED).variables
    assert_parity(MotionDiscriminator(STACKED).apply(variables, clips, maps), captured["o"][:, 0].numpy())


def test_stacked_motion_update_equals_per_frame():
    """The motion update (three generator forwards, stacked on one batch of 3B when stacked)."""
    rng = np.random.default_rng(1)
    s = 128
    batch = {"frames": rng.integers(0, 255, (2, 4, s, s, 3), dtype=np.uint8),
             "masks": np.zeros((2, 4, s, s), np.uint8), "target": rng.integers(0, 255, (2, s, s, 3), dtype=np.uint8)}
    batch["masks"][:, :, 30:70, 40:90] = 1
    out = {}
    for name, model in (("per_frame", PER_FRAME), ("stacked", STACKED)):
        nets = Nets.create(model, "sgd", (0.1, 0.1, 0.1), axis_name=None)
        state = init_state(nets, jax.random.key(0))
        out[name] = jax.jit(make_updates(nets, axis_name=None)["motion"])(state, batch, jax.random.key(2))
    (a, ma), (b, mb) = out["per_frame"], out["stacked"]
    for key in ma:
        assert float(ma[key]) == pytest.approx(float(mb[key]), abs=1e-5), key
    change = max(float(np.abs(np.asarray(x) - np.asarray(y)).max())
                 for x, y in zip(jax.tree.leaves(a.motion.params),
                                 jax.tree.leaves(init_state(Nets.create(PER_FRAME, "sgd", (0.1,) * 3, axis_name=None),
                                                            jax.random.key(0)).motion.params)))
    assert change > 1e-4  # the update moved the parameters
    jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-6),
                 (a.motion.params, a.generator.batch_stats), (b.motion.params, b.generator.batch_stats))
