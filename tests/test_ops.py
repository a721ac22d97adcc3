"""Each PyTorch-exact building block against torch itself."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from helpers import assert_parity  # noqa: E402
from tanet_jax.torch_reference import nchw, ncthw  # noqa: E402
from tanet_jax.models import ops  # noqa: E402
from tanet_jax.models.ops import WINOGRAD  # noqa: E402
from tanet_jax.models.c3d import (  # noqa: E402
    DISCRIMINATOR_PLAN,
    GENERATOR_PLAN,
    C3DTrunk,
    prepare_winograd,
    temporal_plan,
)


def to_nhwc(t: "torch.Tensor") -> np.ndarray:
    return np.moveaxis(t.detach().numpy(), 1, -1)


@pytest.mark.parametrize(
    "size_in,size_out",
    [((38, 38), (19, 19)), ((10, 10), (19, 19)), ((75, 75), (38, 38)), ((304, 304), (300, 300)),
     ((19, 19), (38, 38)), ((7, 9), (300, 301)), ((300, 300), (7, 13)), ((9, 8), (8, 9))],
)
def test_resize_nearest_matches_interpolate(rng, size_in, size_out):
    x = rng.standard_normal((2, *size_in, 3)).astype(np.float32)
    ref = to_nhwc(F.interpolate(nchw(x), size=size_out))
    np.testing.assert_array_equal(np.asarray(ops.resize_nearest(jnp.asarray(x), size_out)), ref)


def test_nearest_indices_float32_edge_case():
    # 304 -> 300: dst 75 * (304/300 in float32) falls just under 76; torch keeps floorf of it.
    idx = ops.nearest_indices(304, 300)
    src = torch.arange(304, dtype=torch.float32).reshape(1, 1, 1, 304)
    ref = F.interpolate(src, size=(1, 300))[0, 0, 0].long().numpy()
    np.testing.assert_array_equal(idx, ref)


def test_upsample2x_matches_upsample(rng):
    x = rng.standard_normal((2, 5, 7, 4)).astype(np.float32)
    ref = to_nhwc(nn.Upsample(scale_factor=2)(nchw(x)))
    np.testing.assert_array_equal(np.asarray(ops.upsample2x(jnp.asarray(x))), ref)


@pytest.mark.parametrize("size", [2, 3, 5])
def test_local_response_norm(rng, size):
    x = (rng.standard_normal((2, 9, 11, 7)) * 30).astype(np.float32)
    ref = to_nhwc(nn.LocalResponseNorm(size)(nchw(x)))
    assert_parity(ops.local_response_norm(jnp.asarray(x), size), ref, rel=1e-6, max_abs=1e-5)


@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (3, 2, 0), (2, 2, 1), (2, 2, 0)])
def test_max_pool_with_padding(rng, k, s, p):
    x = rng.standard_normal((2, 15, 12, 3)).astype(np.float32) - 5.0  # all negative near edges
    ref = to_nhwc(nn.MaxPool2d(k, s, p)(nchw(x)))
    np.testing.assert_array_equal(np.asarray(ops.max_pool(jnp.asarray(x), (k, k), (s, s), (p, p))), ref)


@pytest.mark.parametrize("k,p", [(3, 1), (1, 0)])
def test_transposed_conv_as_flipped_conv(rng, k, p):
    layer = nn.ConvTranspose2d(6, 5, k, 1, p)
    x = rng.standard_normal((2, 9, 9, 6)).astype(np.float32)
    ref = to_nhwc(layer(nchw(x)))
    kernel = ops.conv_transpose_kernel_to_conv(layer.weight.detach().numpy())
    ours = ops.conv2d(jnp.asarray(x), jnp.asarray(kernel), jnp.asarray(layer.bias.detach().numpy()),
                      1, ops.conv_transpose_padding(k, p))
    assert_parity(ours, ref)


def _torch_trunk(plan, widths, clip_ncthw, weights):
    """The plan run literally with torch Conv3d/MaxPool3d."""
    x = clip_ncthw
    for layer in plan:
        if hasattr(layer, "name"):
            w, b = weights[layer.name]
            x = F.relu(F.conv3d(x, w, b, padding=1))
        else:
            x = F.max_pool3d(x, layer.kernel, layer.stride, layer.padding)
    return x


@pytest.mark.parametrize("plan,t", [(GENERATOR_PLAN, 2), (GENERATOR_PLAN, 3), (DISCRIMINATOR_PLAN, 6)])
def test_c3d_trunk_matches_conv3d_stack(rng, plan, t):
    widths = (4, 6, 8, 8, 6)
    size = 36
    clip = rng.standard_normal((2, t, size, size, 3)).astype(np.float32)
    module = C3DTrunk(plan, widths)
    variables = module.init(jax.random.key(0), jnp.asarray(clip))
    weights = {
        name: (torch.from_numpy(np.asarray(p["kernel"]).transpose(4, 3, 0, 1, 2).copy()),
               torch.from_numpy(np.array(p["bias"])))
        for name, p in variables["params"].items()
    }
    ref = _torch_trunk(plan, widths, ncthw(clip), weights).numpy().transpose(0, 2, 3, 4, 1)
    assert_parity(module.apply(variables, jnp.asarray(clip)), ref)
    prepared = prepare_winograd(variables["params"], plan, t, min_channels=1)
    if plan is GENERATOR_PLAN:  # its 2D layers (time length 1) run as Winograd GEMMs when prepared
        assert sorted(prepared) == ["conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b"]
    assert_parity(module.apply({**variables, WINOGRAD: prepared}, jnp.asarray(clip)), ref)


@pytest.mark.parametrize("size", [(7, 7), (8, 5), (1, 2)])
def test_winograd_conv_equals_direct_conv(rng, size):
    x = rng.standard_normal((2, *size, 5)).astype(np.float32)
    k = rng.standard_normal((3, 3, 5, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    direct = ops.conv2d(jnp.asarray(x), jnp.asarray(k), jnp.asarray(b), 1, 1)
    fast = ops.conv3x3_winograd(jnp.asarray(x), ops.winograd_kernel(jnp.asarray(k)), jnp.asarray(b))
    assert fast.shape == direct.shape
    assert_parity(fast, np.asarray(direct))


def test_temporal_plan_skips_unused_frames():
    sizes, needed, reads = temporal_plan(GENERATOR_PLAN, 3)
    assert sizes[-1] == 1 and reads == [0, 1, 2]
    assert needed[2] == [0, 1]  # conv2: pool2 reads only its first two output frames
    assert all(n == [0] for n in needed[4:])  # from conv3a on, T = 1: plain 2D convolutions
    sizes, needed, _ = temporal_plan(DISCRIMINATOR_PLAN, 6)
    assert sizes[-1] == 1 and needed[5] == [0, 1]  # conv3b: pool3 drops its third frame
    with pytest.raises(ValueError, match="too short"):
        temporal_plan(DISCRIMINATOR_PLAN[:4] + (DISCRIMINATOR_PLAN[3],) * 3, 1)
