"""Parameterised layers with PyTorch semantics: Conv2d and BatchNorm (train/eval as in torch)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from tanet_jax.models import ops

Array = jax.Array


def torch_uniform_init(fan_in_axes: tuple[int, ...]) -> Any:
    """PyTorch's default init for conv/linear (kaiming_uniform with a=sqrt(5)): U(+-1/sqrt(fan_in))."""

    def init(key: Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> Array:
        fan_in = 1
        for axis in fan_in_axes:
            fan_in *= shape[axis]
        bound = 1.0 / (fan_in**0.5)
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _bias_init(fan_in: int) -> Any:
    """PyTorch's default bias init: U(+-1/sqrt(fan_in))."""
    return lambda key, shape: jax.random.uniform(key, shape, jnp.float32, -1, 1) / fan_in**0.5


class ConvWeights(nn.Module):
    """The kernel (k, k, in, out) and bias of a conv, without applying it: for callers that fuse
    it with neighbouring linear layers (same parameter names and init as Conv2d)."""

    features: int
    kernel_size: int

    @nn.compact
    def __call__(self, cin: int) -> tuple[Array, Array]:
        k = self.kernel_size
        kernel = self.param("kernel", torch_uniform_init((0, 1, 2)), (k, k, cin, self.features))
        return kernel, self.param("bias", _bias_init(k * k * cin), (self.features,))


class Conv2d(nn.Module):
    """`nn.Conv2d` (NHWC, HWIO kernel) with symmetric padding and optional bias."""

    features: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    use_bias: bool = True
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        k = self.kernel_size
        shape = (k, k, x.shape[-1], self.features)
        kernel = self.param("kernel", torch_uniform_init((0, 1, 2)), shape)
        bias = self.param("bias", _bias_init(k * k * x.shape[-1]), (self.features,)) if self.use_bias else None
        return ops.conv2d(x.astype(self.dtype), kernel, bias, self.stride, self.padding)


class Dense(nn.Module):
    """`nn.Linear` with PyTorch's default initialisation; the kernel is (in, out)."""

    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        kernel = self.param("kernel", torch_uniform_init((0,)), (x.shape[-1], self.features))
        bias = self.param("bias", _bias_init(x.shape[-1]), (self.features,))
        x = x.astype(self.dtype)
        return x @ kernel.astype(self.dtype) + bias.astype(self.dtype)


# PyTorch's BatchNorm2d momentum; and the collection in which BatchNorm reports the moments it
# normalised with, so a caller that reuses features can replay the running-statistics updates.
BN_MOMENTUM = 0.1
MOMENTS = "batch_moments"


def running_average(running: Any, batch: Any, momentum: float = BN_MOMENTUM) -> Any:
    """PyTorch's running-statistics update, leaf by leaf: (1 - m) * running + m * batch."""
    return jax.tree.map(lambda r, b: (1 - momentum) * r + momentum * b, running, batch)


class BatchNorm(nn.Module):
    """`nn.BatchNorm2d`: batch statistics in training (running var updated unbiased, momentum
    0.1), running statistics in evaluation; `axis_name` averages statistics across devices.
    Running statistics update only where `batch_stats` is mutable; where `MOMENTS` is, the
    batch mean and unbiased variance are reported there under the same names."""

    momentum: float = BN_MOMENTUM
    epsilon: float = 1e-5
    axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array, train: bool) -> Array:
        c = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (c,))
        bias = self.param("bias", nn.initializers.zeros, (c,))
        ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (c,), jnp.float32)
        ra_var = self.variable("batch_stats", "var", jnp.ones, (c,), jnp.float32)
        if train:
            axes = tuple(range(x.ndim - 1))
            xf = x.astype(jnp.float32)
            mean = jnp.mean(xf, axes)
            if self.axis_name is not None:
                mean = lax.pmean(mean, self.axis_name)
            var = jnp.mean(jnp.square(xf - mean), axes)
            count = xf.size // c
            if self.axis_name is not None:
                var = lax.pmean(var, self.axis_name)
                count = count * lax.psum(1, self.axis_name)
            moments = {"mean": mean, "var": var * count / jnp.maximum(count - 1, 1)}
            if not self.is_initializing() and self.is_mutable_collection("batch_stats"):
                running = running_average({"mean": ra_mean.value, "var": ra_var.value}, moments, self.momentum)
                ra_mean.value, ra_var.value = running["mean"], running["var"]
            if self.is_mutable_collection(MOMENTS):
                for name, value in moments.items():
                    self.put_variable(MOMENTS, name, value)
        else:
            mean, var = ra_mean.value, ra_var.value
        inv = lax.rsqrt(var + self.epsilon) * scale
        return (x.astype(jnp.float32) * inv + (bias - mean * inv)).astype(self.dtype)
