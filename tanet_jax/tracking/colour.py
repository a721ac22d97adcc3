"""A colour-histogram model of the target, merged with the correlation filter's response.

Staple (Bertinetto et al., CVPR 2016): foreground and background colour histograms give each
pixel a probability of belonging to the target; their mean over a target-sized window scores
every position. It does not care where on the target a colour is, so it holds through
deformation and rotation where the filter's rigid template drifts, and the filter holds where
colours alone are ambiguous. Histograms are learned in the search region's own coordinates (the
target is always the central `box` pixels of a fixed-size patch) from pixels inside the frame
only, so border-replicated pixels are never learned.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def _bin_index(patch: jax.Array, bins: int) -> jax.Array:
    """(W, W, 3) in [0, 1] -> (W, W) joint colour bin, `bins` levels per channel."""
    q = jnp.clip((patch * bins).astype(jnp.int32), 0, bins - 1)
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


@partial(jax.jit, static_argnames=("bins",))
def colour_histograms(patch: jax.Array, foreground: jax.Array, background: jax.Array, bins: int) -> jax.Array:
    """(2, bins**3): the colour distributions of the weighted foreground and background pixels."""
    idx = _bin_index(patch, bins).ravel()
    hists = jnp.stack([jnp.zeros(bins**3).at[idx].add(w.ravel()) for w in (foreground, background)])
    return hists / jnp.maximum(jnp.sum(hists, axis=1, keepdims=True), 1e-6)


def _cell_probability(patches: jax.Array, hists: jax.Array, bins: int, cell: int) -> jax.Array:
    """(S, W, W, 3) -> (S, n, n): each cell's mean probability of being the target (fg / (fg + bg))."""
    idx = _bin_index(patches, bins)
    fg, bg = hists[0][idx], hists[1][idx]
    prob = jnp.where(fg + bg > 0, fg / jnp.maximum(fg + bg, 1e-12), 0.0)
    s, w = prob.shape[0], prob.shape[1]
    n = w // cell
    return prob.reshape(s, n, cell, n, cell).mean(axis=(2, 4))


@partial(jax.jit, static_argnames=("bins", "cell"))
def reliability_mask(patch: jax.Array, hists: jax.Array, support: jax.Array, bins: int, cell: int,
                     min_fraction: float) -> jax.Array:
    """(n, n) spatial reliability of the filter's support (CSR-DCF): the cells of `support` whose colour
    says target, under a prior that falls from the centre (Epanechnikov, clipped to [0.5, 0.9]),
    grown by one cell; the whole support where that keeps less than `min_fraction` of it."""
    prob = _cell_probability(patch[None], hists, bins, cell)[0]
    n = prob.shape[0]
    rows, cols = jnp.any(support > 0, axis=1), jnp.any(support > 0, axis=0)
    half_h = jnp.maximum(jnp.sum(rows) / 2, 0.5)
    half_w = jnp.maximum(jnp.sum(cols) / 2, 0.5)
    r = jnp.arange(n) + 0.5 - n / 2
    prior = jnp.clip(1 - (r[:, None] / half_h) ** 2 - (r[None, :] / half_w) ** 2, 0.5, 0.9)
    posterior = prob * prior / jnp.maximum(prob * prior + (1 - prob) * (1 - prior), 1e-12)
    keep = (posterior > 0.5).astype(jnp.float32)
    grown = jax.lax.reduce_window(keep, -jnp.inf, jax.lax.max, (3, 3), (1, 1), "SAME")
    mask = grown * support
    return jnp.where(jnp.sum(mask) >= min_fraction * jnp.sum(support), mask, support)


@partial(jax.jit, static_argnames=("bins", "cell", "box"))
def colour_response(patches: jax.Array, hists: jax.Array, bins: int, cell: int, box: int) -> jax.Array:
    """(S, n, n): mean target probability over a `box`-cell window at each shift, laid out like the
    filter's response (index (0, 0) = the window at the patch centre, shifts wrap around)."""
    cells = _cell_probability(patches, hists, bins, cell)
    n = cells.shape[1]
    # window of `box` cells starting `box // 2` cells before each cell: centred on that cell's corner,
    # so the window at cell n // 2 is centred on the patch centre (as the filter's zero shift)
    half = box // 2
    padded = jnp.pad(cells, ((0, 0), (half, box - half), (half, box - half)))
    integral = jnp.pad(jnp.cumsum(jnp.cumsum(padded, axis=1), axis=2), ((0, 0), (1, 0), (1, 0)))
    sums = (integral[:, box:box + n, box:box + n] - integral[:, :n, box:box + n]
            - integral[:, box:box + n, :n] + integral[:, :n, :n])
    return jnp.roll(sums / (box * box), shift=(-(n // 2), -(n // 2)), axis=(1, 2))


class ColourModel:
    """Running foreground/background colour histograms of the target in search-region coordinates."""

    def __init__(self, window: int, padding: float, cell: int, bins: int = 32, learning_rate: float = 0.04,
                 inner: float = 0.2, outer: float = 2.0) -> None:
        self.window, self.cell, self.bins, self.rate = window, cell, bins, learning_rate
        target = window / (1 + padding)  # the target's side in the patch, pixels
        self.box = max(2, int(2 * round(target / cell / 2)))  # ... in cells, even (centred like the filter)
        r = np.abs(np.arange(window) + 0.5 - window / 2)
        inner_side = (target * (1 - inner)) / 2
        fg = (r <= inner_side).astype(np.float32)
        self.foreground = np.outer(fg, fg)
        inside = np.outer(r <= target / 2, r <= target / 2)
        around = np.outer(r <= target * outer / 2, r <= target * outer / 2)
        self.background = (around & ~inside).astype(np.float32)
        self.hists: jax.Array | None = None

    def learn(self, patch: np.ndarray, valid: np.ndarray, rate: float | None = None) -> None:
        """Blend the patch's histograms into the model; `valid` (W, W) marks pixels inside the frame."""
        new = colour_histograms(jnp.asarray(patch), jnp.asarray(self.foreground * valid),
                                jnp.asarray(self.background * valid), self.bins)
        if self.hists is None or rate == 1.0:
            self.hists = new
        else:
            r = self.rate if rate is None else rate
            self.hists = (1 - r) * self.hists + r * new

    def reliability(self, patch: np.ndarray, support: jax.Array, min_fraction: float = 0.3) -> jax.Array:
        """The filter's support restricted to the cells whose colour says target (CSR-DCF)."""
        return reliability_mask(jnp.asarray(patch), self.hists, support, self.bins, self.cell, min_fraction)

    def respond(self, patches: np.ndarray) -> np.ndarray:
        """(S, n, n) colour scores of target-sized windows, aligned with the filter's responses."""
        return np.asarray(colour_response(jnp.asarray(patches), self.hists, self.bins, self.cell, self.box))
