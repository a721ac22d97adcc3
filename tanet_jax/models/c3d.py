"""C3D trunks (generator motion encoder and motion discriminator) computed frame by frame.

A 3x3x3 convolution with temporal padding 1 is, for each output frame, a 2D convolution over the
channel-concatenation of the (at most three) input frames it touches. Taps that fall into the
zero padding contribute exactly zero, so they are left out; frames no later pooling reads are never
computed. The result equals PyTorch's Conv3d/MaxPool3d stack while doing about half the work of a
literal port (see the spec's Cost section): after the time axis reaches length 1 every layer is
a plain 2D convolution with the kernel's middle temporal slice.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp

from tanet_jax.models import ops
from tanet_jax.models.layers import torch_uniform_init

Array = jax.Array


class Conv(NamedTuple):
    """A 3x3x3 conv (padding 1, bias) + ReLU named as in the C3D checkpoint."""

    name: str
    width: int  # index into ModelConfig.c3d_widths


class Pool(NamedTuple):
    """A MaxPool3d: (t, h, w) kernel, stride and padding."""

    kernel: tuple[int, int, int]
    stride: tuple[int, int, int]
    padding: tuple[int, int, int] = (0, 0, 0)


Layer = Union[Conv, Pool]

# The generator's motion encoder (spec: Generator / Motion encoder).
GENERATOR_PLAN: tuple[Layer, ...] = (
    Conv("conv1", 0),
    Pool((1, 2, 2), (1, 2, 2)),
    Conv("conv2", 1),
    Pool((2, 2, 2), (2, 2, 2)),
    Conv("conv3a", 2),
    Conv("conv3b", 2),
    Conv("conv4a", 3),
    Conv("conv4b", 3),
    Conv("conv5a", 4),
    Conv("conv5b", 4),
    Pool((2, 2, 2), (2, 2, 2), (1, 1, 1)),
)

# The motion discriminator's trunk (spec: Motion discriminator).
DISCRIMINATOR_PLAN: tuple[Layer, ...] = (
    Conv("conv1", 0),
    Pool((1, 2, 2), (1, 2, 2)),
    Conv("conv2", 1),
    Pool((2, 2, 2), (2, 2, 2)),
    Conv("conv3a", 2),
    Conv("conv3b", 2),
    Pool((2, 2, 2), (2, 2, 2)),
    Conv("conv4a", 3),
    Conv("conv4b", 3),
    Pool((1, 2, 2), (2, 2, 2)),
    Conv("conv5a", 4),
    Conv("conv5b", 4),
)

CONV_NAMES: tuple[str, ...] = tuple(layer.name for layer in GENERATOR_PLAN if isinstance(layer, Conv))



def prepare_winograd(trunk_params: dict, plan: Sequence[Layer], t_in: int,
                     min_channels: int = ops.WINOGRAD_MIN_CHANNELS) -> dict[str, Array]:
    """Winograd-domain kernels (middle temporal slice) of the trunk's 2D layers with at least
    `min_channels` in and out; passed as the `winograd` collection, they replace those
    layers' direct convs. Computed once per set of weights, outside the per-frame path."""
    sizes, _, _ = temporal_plan(plan, t_in)
    out = {}
    for layer, t in zip(plan, sizes):
        if isinstance(layer, Conv) and t == 1:
            kernel = trunk_params[layer.name]["kernel"][1]  # the middle temporal slice
            if ops.winograd_pays(kernel, min_channels):
                out[layer.name] = ops.winograd_kernel(kernel)
    return out


def temporal_plan(
    plan: Sequence[Layer], t_in: int
) -> tuple[list[int], list[list[int]], list[int]]:
    """Time-axis lengths before each layer, the output frames each layer must compute, and the
    input frames read; static, so it runs once at trace time."""
    sizes = [t_in]
    for layer in plan:
        t = sizes[-1]
        if isinstance(layer, Pool):
            k, s, p = layer.kernel[0], layer.stride[0], layer.padding[0]
            t = (t + 2 * p - k) // s + 1
        if t < 1:
            raise ValueError(f"clip of {t_in} frames is too short for this C3D trunk")
        sizes.append(t)
    needed: list[list[int]] = [[] for _ in plan]
    need = set(range(sizes[-1]))
    for i in reversed(range(len(plan))):
        needed[i] = sorted(need)
        layer, t_prev = plan[i], sizes[i]
        if isinstance(layer, Conv):
            reads = {t + d for t in need for d in (-1, 0, 1)}
        else:
            k, s, p = layer.kernel[0], layer.stride[0], layer.padding[0]
            reads = {o * s - p + j for o in need for j in range(k)}
        need = {t for t in reads if 0 <= t < t_prev}
    return sizes, needed, sorted(need)


class Conv3dWeights(nn.Module):
    """The kernel (t, h, w, in, out) and bias of one 3x3x3 conv, under the checkpoint's name."""

    features: int

    @nn.compact
    def __call__(self, cin: int) -> tuple[Array, Array]:
        kernel = self.param("kernel", torch_uniform_init((0, 1, 2, 3)), (3, 3, 3, cin, self.features))
        bound = 1.0 / (27 * cin) ** 0.5
        bias = self.param(
            "bias",
            lambda key, s: jax.random.uniform(key, s, jnp.float32, -bound, bound),
            (self.features,),
        )
        return kernel, bias


class C3DTrunk(nn.Module):
    """A C3D trunk on (B, T, H, W, C) clips, returning (B, T_out, H_out, W_out, C_out)."""

    plan: tuple[Layer, ...]
    widths: tuple[int, ...]
    dtype: Any = jnp.float32
    stacked: bool = False  # frames stacked on the batch, one conv/pool per layer, no Winograd

    @nn.compact
    def __call__(self, clip: Array) -> Array:
        if clip.ndim != 5:
            raise ValueError(f"C3D expects (B, T, H, W, C) clips, got shape {clip.shape}")
        sizes, needed, reads = temporal_plan(self.plan, clip.shape[1])
        clip = clip.astype(self.dtype)
        frames = {t: clip[:, t] for t in reads}
        for layer, out_frames, t_in in zip(self.plan, needed, sizes):
            if isinstance(layer, Conv):
                frames = self._conv(layer, frames, out_frames, t_in)
            else:
                frames = self._pool(layer, frames, out_frames, t_in)
        return jnp.stack([frames[t] for t in range(sizes[-1])], axis=1)

    def _conv(
        self, layer: Conv, frames: dict[int, Array], out_frames: list[int], t_in: int
    ) -> dict[int, Array]:
        cin = next(iter(frames.values())).shape[-1]
        kernel, bias = Conv3dWeights(self.widths[layer.width], name=layer.name)(cin)
        cout = kernel.shape[-1]
        groups: dict[tuple[int, ...], list[int]] = {}
        for t in out_frames:
            taps = tuple(k for k in range(3) if 0 <= t + k - 1 < t_in)
            groups.setdefault(taps, []).append(t)
        out: dict[int, Array] = {}
        for taps, ts in groups.items():
            w = kernel[taps[0] : taps[-1] + 1].transpose(1, 2, 0, 3, 4).reshape(3, 3, len(taps) * cin, cout)
            if self.stacked:  # every output frame of this tap pattern in one conv
                x = jnp.concatenate([jnp.concatenate([frames[t + k - 1] for k in taps], axis=-1) for t in ts], 0)
                y = nn.relu(ops.conv3x3(x, w, bias, winograd=False))
                out.update(zip(ts, jnp.split(y, len(ts), axis=0)))
                continue
            # A 2D layer's kernel may have been prepared once by `prepare_winograd`. One conv per
            # output frame: XLA's CPU conv slows down 2-4x when frames are stacked along the batch
            # at 300x300 (conv1: 41 ms for two frames at once, 2 x 9.4 ms apart).
            prepared = self.get_variable(ops.WINOGRAD, layer.name) if taps == (1,) else None
            for t in ts:
                x = jnp.concatenate([frames[t + k - 1] for k in taps], axis=-1)
                out[t] = nn.relu(ops.conv3x3(x, w, bias, prepared))
        return out

    def _pool(
        self, layer: Pool, frames: dict[int, Array], out_frames: list[int], t_in: int
    ) -> dict[int, Array]:
        # Frame by frame: pooling frames concatenated along the batch fused into one slow XLA CPU
        # loop (44 ms against 2 ms for C3D's pool1 on twelve 160x160x16 maps).
        if self.stacked:  # all frames in one pool
            ts = list(frames)
            y = ops.max_pool(jnp.concatenate([frames[t] for t in ts], 0), layer.kernel[1:], layer.stride[1:],
                             layer.padding[1:])
            pooled = dict(zip(ts, jnp.split(y, len(ts), axis=0)))
        else:
            pooled = {t: ops.max_pool(x, layer.kernel[1:], layer.stride[1:], layer.padding[1:])
                      for t, x in frames.items()}
        k, s, p = layer.kernel[0], layer.stride[0], layer.padding[0]
        out: dict[int, Array] = {}
        for o in out_frames:
            window = [o * s - p + j for j in range(k) if 0 <= o * s - p + j < t_in]
            out[o] = functools.reduce(jnp.maximum, [pooled[t] for t in window])
        return out
