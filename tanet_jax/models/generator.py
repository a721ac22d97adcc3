"""TANet's generator: shared ResNet-18 encoder, C3D motion encoder, fusion, linear decoder, head.

The generator returns logits; the release's map is `sigmoid(logits)` (nearest resizing commutes
with the sigmoid, so the order of the two does not change a value).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from tanet_jax.models.model_config import ModelConfig
from tanet_jax.models import ops
from tanet_jax.models.c3d import GENERATOR_PLAN, C3DTrunk
from tanet_jax.models.c3d import prepare_winograd as prepare_c3d_winograd
from tanet_jax.models.ops import WINOGRAD, WINOGRAD_MIN_CHANNELS
from tanet_jax.models.layers import ConvWeights
from tanet_jax.models.resnet import ResNetEncoder

Array = jax.Array
Features = tuple[Array, Array, Array]


def decoder_layer_indices(stages: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """(torch Sequential index, width) of each decoder conv; Upsample layers take the gaps."""
    out, idx = [], 0
    for s, (width, n) in enumerate(stages):
        if s > 0:
            idx += 1
        for _ in range(n):
            out.append((idx, width))
            idx += 1
    return out


def first_of_stage(stages: tuple[tuple[int, int], ...]) -> set[int]:
    """Positions (in decoder_layer_indices) of the convs that follow an upsample."""
    return {sum(n for _, n in stages[:s]) for s in range(1, len(stages))}


class Decoder(nn.Module):
    """Stride-1 transposed convs stored as ordinary convs (flipped kernels), nearest x2 between
    stages, no activation anywhere, then the 1x1 head, as in the release. All of it is linear,
    which the computation uses exactly: each conv that follows an upsample runs at the low
    resolution (`ops.upsample2x_conv3x3`), and the head is folded into the last conv."""

    stages: tuple[tuple[int, int], ...]
    dtype: Any = jnp.float32
    winograd: bool = True  # False: direct convs only (the stacked formulation)

    @nn.compact
    def __call__(self, x: Array, head: tuple[Array, Array]) -> Array:
        after_upsample = first_of_stage(self.stages)
        layers = decoder_layer_indices(self.stages)
        for i, (idx, width) in enumerate(layers):
            kernel, bias = ConvWeights(width, 3, name=f"layers_{idx}")(x.shape[-1])
            if i == len(layers) - 1:  # head(conv(x)) = conv'(x): a 1x1 conv is a matrix product
                head_kernel, head_bias = head
                bias = bias @ head_kernel[0, 0] + head_bias
                kernel = jnp.einsum("hwic,co->hwio", kernel, head_kernel[0, 0])
            if i in after_upsample:
                x = ops.upsample2x_conv3x3(x.astype(self.dtype), kernel, bias)
            else:  # the kernel may have been prepared once by prepare_decoder_winograd
                x = ops.conv3x3(x.astype(self.dtype), kernel, bias, self.get_variable(WINOGRAD, f"layers_{idx}"),
                                winograd=self.winograd)
        return x


def prepare_decoder_winograd(decoder_params: dict, stages: tuple[tuple[int, int], ...],
                             min_channels: int = WINOGRAD_MIN_CHANNELS) -> dict[str, Array]:
    """Winograd-domain kernels of the decoder's plain 3x3 convs with at least `min_channels` in
    and out (not those after an upsample, not the head-folded last one), for the `winograd`
    collection (at 300x300: the 19x19 and 38x38 stages, 1.7-2.3x faster there on a CPU)."""
    layers = decoder_layer_indices(stages)
    after_upsample = first_of_stage(stages)
    out = {}
    for i, (idx, _) in enumerate(layers):
        kernel = decoder_params[f"layers_{idx}"]["kernel"]
        plain = i not in after_upsample and i < len(layers) - 1
        if plain and ops.winograd_pays(kernel, min_channels):
            out[f"layers_{idx}"] = ops.winograd_kernel(kernel)
    return out


def prepare_winograd(params: dict, config: ModelConfig) -> dict[str, dict[str, Array]]:
    """The generator's `winograd` collection: prepared kernels of the motion trunk's and the
    decoder's layers that gain from Winograd on a CPU; jit it, it runs once per set of weights.
    Empty for the stacked formulation, which uses no Winograd."""
    if config.stacked_frames:
        return {}
    tree = {"motion": prepare_c3d_winograd(params["motion"], GENERATOR_PLAN, 2),
            "decoder": prepare_decoder_winograd(params["decoder"], config.decoder_stages)}
    return {name: kernels for name, kernels in tree.items() if kernels}


class Generator(nn.Module):
    """Maps (frame, target patch, clip) to attention logits at the output size."""

    config: ModelConfig
    bn_axis_name: str | None = None

    def setup(self) -> None:
        c, features = self.config, self.config.generator_feature_dtype
        self.encoder = ResNetEncoder(c.resnet_stem, c.resnet_widths, c.resnet_blocks, self.bn_axis_name, features)
        self.motion = C3DTrunk(GENERATOR_PLAN, c.c3d_widths, c.compute_dtype, stacked=c.stacked_frames)
        self.decoder = Decoder(c.decoder_stages, features, winograd=not c.stacked_frames)
        self.head = ConvWeights(1, 1)  # 1x1 ConvTranspose2d (padding 0): folded into the decoder

    def encode(self, images: Array, train: bool = False) -> Features:
        """ResNet features of frames or target patches (B, H, W, 3)."""
        _check_images(images, "images", self.config.input_size)
        return self.encoder(images, train)

    def encode_motion(self, clips: Array) -> Array:
        """C3D features of (B, T, H, W, 3) clips with the time axis squeezed."""
        if clips.ndim != 5 or clips.shape[1] not in (2, 3):
            raise ValueError(f"clips must be (B, T, H, W, 3) with T = 2 or 3, got {clips.shape}")
        _check_images(clips[:, 0], "clips", self.config.input_size)
        return self.motion(clips)[:, 0]

    def decode(self, frame_feats: Features, target_feats: Features, motion: Array) -> Array:
        """Fuse all features at the layer3 resolution and decode to logits (B, S, S)."""
        size = frame_feats[1].shape[1:3]
        fused = [
            ops.resize_nearest(jnp.concatenate([f, t], axis=-1), size)
            for f, t in zip(frame_feats, target_feats)
        ]
        fused.append(ops.resize_nearest(motion, size))
        logits = self.decoder(jnp.concatenate(fused, axis=-1), self.head(self.config.decoder_stages[-1][0]))
        out = self.config.output_size
        return ops.resize_nearest(logits, (out, out))[..., 0].astype(jnp.float32)

    def __call__(self, frames: Array, targets: Array, clips: Array, train: bool = False) -> Array:
        """Attention logits for frames (B,S,S,3), targets (B,S,S,3), clips (B,T,S,S,3)."""
        frame_feats = self.encode(frames, train)
        target_feats = self.encode(targets, train)
        return self.decode(frame_feats, target_feats, self.encode_motion(clips))


def _check_images(x: Array, name: str, size: int) -> None:
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[1:3] != (size, size):
        raise ValueError(f"{name} must be (B, {size}, {size}, 3) at the model's input size, got {x.shape}")
