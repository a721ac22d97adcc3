"""A discriminative correlation-filter tracker in JAX: no training, runs on any machine.

Features are multi-channel (soft-binned gradient orientations pooled in cells, plus intensity),
the filter is the closed-form multi-channel ridge regression in the Fourier domain (DCF), and
the scale is estimated by searching a few scaled regions. Feature extraction, learning and
detection are jitted at fixed sizes; cropping is one cv2.warpAffine per region.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Sequence

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from tanet_jax.tracking.protocol import SearchResult, box_center, box_from_center


@dataclasses.dataclass(frozen=True)
class CFParams:
    """Sizes and rates of the correlation filter."""

    window: int = 128  # side of the resized search region, pixels
    cell: int = 4  # feature cell, pixels
    padding: float = 1.25  # region = target size * (1 + padding)
    orientations: int = 9
    lam: float = 1e-3  # ridge regularisation
    sigma: float = 0.1  # label width, as a fraction of the target size in cells
    learning_rate: float = 0.02
    scales: tuple[float, ...] = (0.97, 1.0, 1.03)
    scale_penalty: float = 0.985
    min_size: float = 6.0
    color: bool = True  # add cell-pooled colour channels to the gradient histogram


def crop(frame: np.ndarray, center: Sequence[float], size: Sequence[float], out: int) -> np.ndarray:
    """The region (centre, size) resized to out x out (bilinear, border replicated), float [0,1]."""
    sx, sy = out / max(size[0], 1e-3), out / max(size[1], 1e-3)
    m = np.array([[sx, 0, out / 2 - sx * center[0]], [0, sy, out / 2 - sy * center[1]]], np.float64)
    patch = cv2.warpAffine(frame, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return patch.astype(np.float32) / 255.0


def features(patch: jax.Array, cell: int, orientations: int, color: bool = True) -> jax.Array:
    """(W, W, 3) patch -> (W/cell, W/cell, orientations + 1 [+ 3]) features."""
    gray = jnp.mean(patch, axis=-1)
    gx = jnp.pad(gray[:, 2:] - gray[:, :-2], ((0, 0), (1, 1)), mode="edge")
    gy = jnp.pad(gray[2:, :] - gray[:-2, :], ((1, 1), (0, 0)), mode="edge")
    mag = jnp.sqrt(gx**2 + gy**2 + 1e-12)
    theta = jnp.mod(jnp.arctan2(gy, gx), jnp.pi) / jnp.pi * orientations  # [0, K)
    centers = jnp.arange(orientations) + 0.5
    dist = jnp.abs(theta[..., None] - centers)
    dist = jnp.minimum(dist, orientations - dist)  # orientation wraps around
    hist = mag[..., None] * jnp.maximum(0.0, 1.0 - dist)
    n = patch.shape[0] // cell
    pool = lambda x: x.reshape(n, cell, n, cell, -1).mean(axis=(1, 3))
    hist = pool(hist)
    hist = hist / jnp.sqrt(jnp.sum(hist**2, axis=-1, keepdims=True) + 1e-4)
    parts = [hist, pool(gray[..., None]) - 0.5]
    if color:
        parts.append(pool(patch - gray[..., None]))  # chromaticity: colour minus intensity
    return jnp.concatenate(parts, axis=-1)


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def learn(patch: jax.Array, window: jax.Array, label_f: jax.Array, cell: int, orientations: int, color: bool):
    """Numerator (per channel) and denominator of the filter learned on one patch."""
    x = jnp.fft.fft2(features(patch, cell, orientations, color) * window[..., None], axes=(0, 1))
    return label_f[..., None] * jnp.conj(x), jnp.sum(jnp.real(x * jnp.conj(x)), axis=-1)


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def respond(num: jax.Array, den: jax.Array, patches: jax.Array, window: jax.Array, lam: float,
            cell: int, orientations: int, color: bool) -> jax.Array:
    """Responses (S, n, n) of the filter on S patches."""
    feats = jax.vmap(lambda p: features(p, cell, orientations, color))(patches) * window[None, ..., None]
    z = jnp.fft.fft2(feats, axes=(1, 2))
    return jnp.real(jnp.fft.ifft2(jnp.sum(num[None] * z, axis=-1) / (den[None] + lam), axes=(1, 2)))


def _peak(response: np.ndarray) -> tuple[float, float, float]:
    """Peak value and its (dy, dx) in cells, wrapped around, with parabolic sub-cell refinement."""
    n = response.shape[0]
    iy, ix = np.unravel_index(int(np.argmax(response)), response.shape)

    def refine(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if d >= 0 else 0.5 * (a - c) / d

    dy = iy + refine(response[iy - 1, ix], response[iy, ix], response[(iy + 1) % n, ix])
    dx = ix + refine(response[iy, ix - 1], response[iy, ix], response[iy, (ix + 1) % n])
    dy = dy - n if dy > n / 2 else dy
    dx = dx - n if dx > n / 2 else dx
    return float(response[iy, ix]), dy, dx


class CorrelationFilterTracker:
    """The LocalTracker protocol over a jitted DCF with scale search."""

    def __init__(self, params: CFParams = CFParams()) -> None:
        if params.window % params.cell:
            raise ValueError(f"window {params.window} must be a multiple of cell {params.cell}")
        self.p = params
        self.n = params.window // params.cell
        hann = np.hanning(self.n + 2)[1:-1].astype(np.float32)
        self.window = jnp.asarray(np.outer(hann, hann))
        self.num = self.den = None
        self.size = np.zeros(2)
        self.frame_size = (1, 1)

    def _label(self, size: np.ndarray) -> jax.Array:
        region = size * (1 + self.p.padding)
        sigma = np.sqrt(np.prod(size / region)) * self.n * self.p.sigma
        r = np.arange(self.n)
        r = np.minimum(r, self.n - r)  # peak at (0, 0), circular
        g = np.exp(-0.5 * (r[:, None] ** 2 + r[None, :] ** 2) / sigma**2).astype(np.float32)
        return jnp.fft.fft2(jnp.asarray(g))

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Learn the filter on the first frame."""
        x, y, w, h = (float(v) for v in box)
        if not (w > 0 and h > 0):
            raise ValueError(f"initial box {list(box)} has zero size")
        H, W = frame.shape[:2]
        if x >= W or y >= H or x + w <= 0 or y + h <= 0:
            raise ValueError(f"initial box {list(box)} lies outside the {W}x{H} frame")
        self.frame_size = (W, H)
        self.size = np.array([w, h])
        self.label_f = self._label(self.size)
        patch = crop(frame, box_center(box), self.size * (1 + self.p.padding), self.p.window)
        self.num, self.den = learn(jnp.asarray(patch), self.window, self.label_f, self.p.cell, self.p.orientations,
                                   self.p.color)

    def search(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float] | None = None) -> SearchResult:
        """Best box over the scaled regions around `center`; confidence = response peak."""
        size = self.size if size is None else np.asarray(size, np.float64)
        regions = [size * s * (1 + self.p.padding) for s in self.p.scales]
        patches = np.stack([crop(frame, center, r, self.p.window) for r in regions])
        responses = np.asarray(respond(self.num, self.den, jnp.asarray(patches), self.window, self.p.lam,
                                       self.p.cell, self.p.orientations, self.p.color))
        best = None
        for s, region, response in zip(self.p.scales, regions, responses):
            value, dy, dx = _peak(response)
            score = value * (1.0 if s == 1.0 else self.p.scale_penalty)
            if best is None or score > best[0]:
                shift = np.array([dx, dy]) * self.p.cell * region / self.p.window
                best = (score, value, np.asarray(center) + shift, size * s)
        _, value, new_center, new_size = best
        new_size = np.maximum(new_size, self.p.min_size)
        new_size = np.minimum(new_size, np.array(self.frame_size, float))
        return SearchResult(box_from_center(new_center, new_size), float(value))

    def update(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Blend the filter learned at `box` into the model (running average)."""
        self.size = np.array([box[2], box[3]], np.float64)
        patch = crop(frame, box_center(box), self.size * (1 + self.p.padding), self.p.window)
        num, den = learn(jnp.asarray(patch), self.window, self.label_f, self.p.cell, self.p.orientations, self.p.color)
        r = self.p.learning_rate
        self.num = (1 - r) * self.num + r * num
        self.den = (1 - r) * self.den + r * den
