"""A separate scale filter (DSST, Danelljan et al., BMVC 2014): a one-dimensional correlation
filter over a pyramid of target-sized patches, so the size follows the target in small steps
over many scales instead of the translation filter's three.

Each of the `count` patches (the target's box times step^k, k centred on 0) is resampled to a
fixed `side` x `side` square, described by the translation filter's features and flattened; the
filter is learned across scales in the Fourier domain (a numerator per feature, one shared
denominator) and its peak, refined to a fraction of a step, gives the size change. Patches are a
fixed shape, so one compilation serves every sequence.
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from tanet_jax.geometry import resample_region
from tanet_jax.tracking.features import features


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def _scale_spectrum(patches: jax.Array, window: jax.Array, cell: int, orientations: int, color: bool) -> jax.Array:
    """(S, side, side, 3) patches -> (S, D) windowed features, Fourier transformed across scales."""
    f = jax.vmap(lambda p: features(p, cell, orientations, color))(patches)
    return jnp.fft.fft(f.reshape(f.shape[0], -1) * window[:, None], axis=0)


@jax.jit
def _scale_response(numerator: jax.Array, denominator: jax.Array, zf: jax.Array, lam: float) -> jax.Array:
    """The filter's response at each scale."""
    return jnp.real(jnp.fft.ifft(jnp.sum(numerator * zf, axis=1) / (denominator + lam)))


class ScaleFilter:
    """Estimates the target's size change at a known centre; learns with a running average."""

    def __init__(self, count: int = 33, step: float = 1.02, learning_rate: float = 0.025, lam: float = 1e-2,
                 sigma: float = 0.25, side: int = 32, cell: int = 4, orientations: int = 31,
                 color: bool = True) -> None:
        if count < 3 or count % 2 == 0:
            raise ValueError(f"scale filter: count must be odd and >= 3, got {count}")
        if side % cell:
            raise ValueError(f"scale filter: side {side} must be a multiple of cell {cell}")
        self.count, self.lr, self.lam, self.side = count, learning_rate, lam, side
        self.feature_args = dict(cell=cell, orientations=orientations, color=color)
        k = np.arange(count) - count // 2
        self.factors = step ** k.astype(np.float64)
        self.log_step = np.log(step)
        width = np.sqrt(count) * sigma  # DSST's label width: sqrt(count) * sigma_factor, in steps
        self.label_f = np.fft.fft(np.exp(-0.5 * k**2 / width**2)).astype(np.complex64)
        self.window = jnp.asarray(np.hanning(count + 2)[1:-1].astype(np.float32))
        self.numerator = None
        self.denominator = None

    def _spectrum(self, frame: np.ndarray, center: Sequence[float], size: np.ndarray) -> jax.Array:
        patches = np.stack([resample_region(frame, center, size * f, self.side) for f in self.factors])
        return _scale_spectrum(jnp.asarray(patches), self.window, **self.feature_args)

    def learn(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float], rate: float | None = None) -> None:
        """Blend the pyramid at (center, size) into the model (rate 1 on the first call)."""
        xf = self._spectrum(frame, center, np.asarray(size, np.float64))
        num = jnp.asarray(self.label_f)[:, None] * jnp.conj(xf)
        den = jnp.sum(jnp.real(xf * jnp.conj(xf)), axis=1)
        if self.numerator is None or rate == 1.0:
            self.numerator, self.denominator = num, den
        else:
            r = self.lr if rate is None else rate
            self.numerator = (1 - r) * self.numerator + r * num
            self.denominator = (1 - r) * self.denominator + r * den

    def estimate(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float]) -> float:
        """The factor by which the target's size changed (1: unchanged)."""
        if self.numerator is None:
            raise RuntimeError("ScaleFilter.estimate before learn")
        zf = self._spectrum(frame, center, np.asarray(size, np.float64))
        r = np.asarray(_scale_response(self.numerator, self.denominator, zf, self.lam))
        i = int(np.argmax(r))
        offset = 0.0
        if 0 < i < self.count - 1:  # parabolic refinement between neighbouring scales
            d = r[i - 1] - 2 * r[i] + r[i + 1]
            offset = 0.0 if d >= 0 else float(np.clip(0.5 * (r[i - 1] - r[i + 1]) / d, -0.5, 0.5))
        return float(np.exp((i - self.count // 2 + offset) * self.log_step))
