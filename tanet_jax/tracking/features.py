"""The tracker's hand-crafted features: Felzenszwalb's 31-channel HOG (or a soft orientation
histogram), cell-pooled intensity and chromaticity. Shared by the translation filter, the scale
filter and the whole-frame re-detector, so all three describe the target the same way."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _cell_pool(x: jax.Array, cell: int) -> jax.Array:
    """(H, W, C) -> (H/cell, W/cell, C) cell means."""
    return x.reshape(x.shape[0] // cell, cell, x.shape[1] // cell, cell, -1).mean(axis=(1, 3))


def fhog(patch: jax.Array, cell: int) -> jax.Array:
    """Felzenszwalb's 31-channel HOG (18 signed + 9 unsigned orientations, 4 texture energies).

    Gradients are taken on the colour channel with the largest magnitude; orientations are
    soft-binned between the two nearest of 18 signed bins; each cell is normalised by the energy
    of the four 2x2 cell blocks around it, truncated at 0.2, and the four results are summed
    (orientation channels) or kept as texture energies, as in Felzenszwalb et al. (PAMI 2010).
    """
    gx = jnp.pad(patch[:, 2:] - patch[:, :-2], ((0, 0), (1, 1), (0, 0)), mode="edge")
    gy = jnp.pad(patch[2:, :] - patch[:-2, :], ((1, 1), (0, 0), (0, 0)), mode="edge")
    mag2 = gx**2 + gy**2
    best = jnp.argmax(mag2, axis=-1)[..., None]
    gx, gy = jnp.take_along_axis(gx, best, -1)[..., 0], jnp.take_along_axis(gy, best, -1)[..., 0]
    mag = jnp.sqrt(jnp.take_along_axis(mag2, best, -1)[..., 0] + 1e-12)
    b = jnp.mod(jnp.arctan2(gy, gx), 2 * jnp.pi) / (2 * jnp.pi) * 18 - 0.5
    lo = jnp.floor(b)
    w_hi = b - lo
    lo = jnp.mod(lo, 18).astype(jnp.int32)
    h, w = patch.shape[:2]
    nh, nw = h // cell, w // cell
    # soft-binned magnitudes summed per (cell, bin) by scatter-add: twice as fast on CPU as one-hot bins
    slot = ((jnp.arange(h)[:, None] // cell) * nw + jnp.arange(w)[None, :] // cell) * 18
    signed = jnp.zeros(nh * nw * 18, patch.dtype)
    signed = signed.at[(slot + lo).ravel()].add((mag * (1 - w_hi)).ravel())
    signed = signed.at[(slot + jnp.mod(lo + 1, 18)).ravel()].add((mag * w_hi).ravel())
    signed = signed.reshape(nh, nw, 18) / (cell * cell)  # (n, n, 18) cell means
    unsigned = signed[..., :9] + signed[..., 9:]
    energy = jnp.pad(jnp.sum(unsigned**2, axis=-1), 1, mode="edge")
    block = energy[:-1, :-1] + energy[1:, :-1] + energy[:-1, 1:] + energy[1:, 1:]  # (n+1, n+1)
    norms = [1.0 / jnp.sqrt(block[dy : dy + block.shape[0] - 1, dx : dx + block.shape[1] - 1] + 1e-4)
             for dy in (0, 1) for dx in (0, 1)]
    sig = sum(jnp.minimum(signed * n[..., None], 0.2) for n in norms) * 0.5
    uns_k = [jnp.minimum(unsigned * n[..., None], 0.2) for n in norms]
    uns = sum(uns_k) * 0.5
    texture = jnp.stack([jnp.sum(u, axis=-1) * 0.2357 for u in uns_k], axis=-1)
    return jnp.concatenate([sig, uns, texture], axis=-1)


def features(patch: jax.Array, cell: int, orientations: int, color: bool = True) -> jax.Array:
    """(W, W, 3) patch -> (W/cell, W/cell, C) features: fHOG (orientations == 31) or a soft
    gradient-orientation histogram with `orientations` bins, plus intensity and, with `color`,
    cell-pooled chromaticity."""
    gray = jnp.mean(patch, axis=-1)
    if orientations == 31:
        hist = fhog(patch, cell)
    else:
        gx = jnp.pad(gray[:, 2:] - gray[:, :-2], ((0, 0), (1, 1)), mode="edge")
        gy = jnp.pad(gray[2:, :] - gray[:-2, :], ((1, 1), (0, 0)), mode="edge")
        mag = jnp.sqrt(gx**2 + gy**2 + 1e-12)
        theta = jnp.mod(jnp.arctan2(gy, gx), jnp.pi) / jnp.pi * orientations  # [0, K)
        centers = jnp.arange(orientations) + 0.5
        dist = jnp.abs(theta[..., None] - centers)
        dist = jnp.minimum(dist, orientations - dist)  # orientation wraps around
        hist = _cell_pool(mag[..., None] * jnp.maximum(0.0, 1.0 - dist), cell)
        hist = hist / jnp.sqrt(jnp.sum(hist**2, axis=-1, keepdims=True) + 1e-4)
    parts = [hist, _cell_pool(gray[..., None], cell) - 0.5]
    if color:
        parts.append(_cell_pool(patch - gray[..., None], cell))  # chromaticity: colour minus intensity
    return jnp.concatenate(parts, axis=-1)
