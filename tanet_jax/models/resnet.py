"""ResNet-18 encoder in torchvision's BasicBlock layout, returning layer2, layer3 and layer4."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from tanet_jax.models import ops
from tanet_jax.models.layers import BatchNorm, Conv2d

Array = jax.Array


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv3x3-bn-relu-conv3x3-bn, plus a 1x1 downsample when needed."""

    features: int
    stride: int = 1
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array, train: bool) -> Array:
        bn = lambda name: BatchNorm(axis_name=self.bn_axis_name, dtype=self.dtype, name=name)
        conv = lambda k, s, p, name: Conv2d(
            self.features, k, s, p, use_bias=False, dtype=self.dtype, name=name
        )
        y = nn.relu(bn("bn1")(conv(3, self.stride, 1, "conv1")(x), train))
        y = bn("bn2")(conv(3, 1, 1, "conv2")(y), train)
        if self.stride != 1 or x.shape[-1] != self.features:
            x = bn("downsample_1")(conv(1, self.stride, 0, "downsample_0")(x), train)
        return nn.relu(y + x)


class ResNetEncoder(nn.Module):
    """Shared frame/target encoder; outputs (layer2, layer3, layer4) features (strides 8/16/32)."""

    stem: int = 64
    widths: tuple[int, ...] = (64, 128, 256, 512)
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array, train: bool = False) -> tuple[Array, Array, Array]:
        x = Conv2d(self.stem, 7, 2, 3, use_bias=False, dtype=self.dtype, name="conv1")(x)
        x = BatchNorm(axis_name=self.bn_axis_name, dtype=self.dtype, name="bn1")(x, train)
        x = ops.max_pool(nn.relu(x), (3, 3), (2, 2), (1, 1))
        outputs = []
        for i, (width, n) in enumerate(zip(self.widths, self.blocks)):
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                x = BasicBlock(
                    width, stride, self.bn_axis_name, self.dtype, name=f"layer{i + 1}_{j}"
                )(x, train)
            outputs.append(x)
        return outputs[1], outputs[2], outputs[3]
