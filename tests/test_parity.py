"""Ours against the PyTorch reference of the release, through the converter, random weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from tanet_jax import torch_reference as R  # noqa: E402
from helpers import assert_not_saturated, assert_parity, inputs, reference_generator  # noqa: E402
from tanet_jax.torch_reference import nchw, ncthw  # noqa: E402
from tanet_jax.models.model_config import get_preset  # noqa: E402
from tanet_jax.convert import convert_state_dict  # noqa: E402
from tanet_jax.models import AppearanceDiscriminator, Generator, MotionDiscriminator  # noqa: E402
from tanet_jax.inference import AttentionPredictor  # noqa: E402
from tanet_jax.models.c3d import GENERATOR_PLAN  # noqa: E402
from tanet_jax.models.c3d import prepare_winograd as prepare_c3d_winograd  # noqa: E402
from tanet_jax.models.generator import prepare_decoder_winograd  # noqa: E402
from tanet_jax.models.ops import WINOGRAD  # noqa: E402
from tanet_jax.models.resnet import ResNetEncoder  # noqa: E402

TINY = get_preset("tiny")


@pytest.mark.parametrize("t", [2, 3])
def test_generator_matches_release(rng, t):
    ref = reference_generator(TINY, rng)
    frames, targets, clips = inputs(rng, TINY, t=t)
    with torch.no_grad():
        expected = ref(nchw(frames), nchw(targets), ncthw(clips)).numpy()
    assert_not_saturated(expected)
    variables = convert_state_dict(ref.state_dict(), TINY).variables
    logits = Generator(TINY).apply(variables, frames, targets, clips)
    assert_parity(jax.nn.sigmoid(logits), expected)
    # the Winograd path, forced on every eligible layer of the small model
    params = variables["params"]
    prepared = {"motion": prepare_c3d_winograd(params["motion"], GENERATOR_PLAN, t, min_channels=1),
                "decoder": prepare_decoder_winograd(params["decoder"], TINY.decoder_stages, min_channels=1)}
    n_plain = sum(n for _, n in TINY.decoder_stages) - (len(TINY.decoder_stages) - 1) - 1
    assert len(prepared["motion"]) == 6 and len(prepared["decoder"]) == n_plain
    logits = Generator(TINY).apply({**variables, WINOGRAD: prepared}, frames, targets, clips)
    assert_parity(jax.nn.sigmoid(logits), expected)


def test_encoder_batchnorm_train_mode_matches_release(rng):
    """Training-mode BN: batch statistics, and running stats updated as torch does (unbiased)."""
    ref = R.randomize_(R.TANetGenerator(TINY), 1).encoder.train()
    frames = inputs(rng, TINY)[0]
    variables = convert_state_dict(
        {f"encoder.{k}": v for k, v in ref.state_dict().items()}, TINY, kind="generator", allow_partial=True
    ).variables
    with torch.no_grad():
        expected = ref(nchw(frames))
    config = TINY
    encoder = ResNetEncoder(config.resnet_stem, config.resnet_widths, config.resnet_blocks)
    sub = {"params": variables["params"]["encoder"], "batch_stats": variables["batch_stats"]["encoder"]}
    ours, updated = encoder.apply(sub, jnp.asarray(frames), True, mutable=["batch_stats"])
    for a, b in zip(ours, expected):
        assert_parity(a, np.moveaxis(b.numpy(), 1, -1))
    sd = {k: v.numpy() for k, v in ref.state_dict().items()}
    stats = updated["batch_stats"]
    assert_parity(stats["layer2_0"]["bn1"]["var"], sd["layer2.0.bn1.running_var"], rel=1e-6)
    assert_parity(stats["bn1"]["mean"], sd["bn1.running_mean"], rel=1e-6)
    assert_parity(stats["layer4_0"]["downsample_1"]["var"], sd["layer4.0.downsample.1.running_var"], rel=1e-6)


@pytest.mark.parametrize("compat", [True, False])
def test_appearance_discriminator_matches_release(rng, compat):
    ref = R.randomize_(R.AppearanceD(TINY), 2).eval()
    frames = inputs(rng, TINY, batch=4)[0]
    maps = rng.random((4, TINY.input_size, TINY.input_size), dtype=np.float32)
    with torch.no_grad():
        pre_relu = ref.fc5[1](ref.fc4(ref.conv3(ref.conv2(ref.conv1(
            torch.cat([nchw(frames), torch.from_numpy(maps)[:, None]], 1)))).flatten(1)))[:, 0].numpy()
    config = TINY.replace(release_compat=compat)
    variables = convert_state_dict(ref.state_dict(), config).variables
    ours = AppearanceDiscriminator(config).apply(variables, frames, maps)
    assert_parity(ours, np.maximum(pre_relu, 0) if compat else pre_relu)


@pytest.mark.parametrize("compat", [True, False])
def test_motion_discriminator_matches_release(rng, compat):
    ref = R.randomize_(R.MotionD(TINY), 3).eval()
    clips = inputs(rng, TINY, batch=3)[2]
    maps = rng.random(clips.shape[:-1], dtype=np.float32)
    masks3 = np.repeat(maps[..., None], 3, axis=-1)
    captured = {}
    ref.fc5[1].register_forward_hook(lambda m, i, o: captured.setdefault("o", o))
    with torch.no_grad():
        released = ref(ncthw(clips), ncthw(masks3)).numpy()
    pre_relu = captured["o"][:, 0].numpy()
    np.testing.assert_allclose(released, np.maximum(pre_relu, 0))
    config = TINY.replace(release_compat=compat)
    variables = convert_state_dict(ref.state_dict(), config).variables
    ours = MotionDiscriminator(config).apply(variables, clips, maps)
    assert_parity(ours, released if compat else pre_relu)


@pytest.mark.slow
def test_official_generator_matches_release(rng):
    """One full-size check: 300x300, official widths, every key of the release's layout."""
    official = get_preset("official")
    ref = reference_generator(official, rng)
    sd = ref.state_dict()
    assert len(sd) == 172
    assert sum(v.numel() for k, v in sd.items() if "num_batches" not in k) == pytest.approx(117.0e6, rel=1e-3)
    frames, targets, clips = inputs(rng, official, batch=1)
    with torch.no_grad():
        expected = ref(nchw(frames), nchw(targets), ncthw(clips)).numpy()
    assert_not_saturated(expected)
    conversion = convert_state_dict(sd, official)
    assert sorted(conversion.skipped) == sorted(
        [k for k in sd if "num_batches" in k or k.startswith(("encoder.fc.", "motionModel.fc"))]
    )
    del ref, sd
    logits = jax.jit(Generator(official).apply)(conversion.variables, frames, targets, clips)
    assert logits.shape == (1, 300, 300)
    assert_parity(jax.nn.sigmoid(logits), expected)
    predictor = AttentionPredictor(official, conversion.variables)  # the public path, fast kernels included
    if jax.default_backend() == "cpu":
        assert sorted(predictor.variables[WINOGRAD]["motion"]) == ["conv4b", "conv5a", "conv5b"]
        assert sorted(predictor.variables[WINOGRAD]["decoder"]) == ["layers_0", "layers_1", "layers_2", "layers_5",
                                                                    "layers_6"]
    assert_parity(predictor(frames, targets, clips), expected)
