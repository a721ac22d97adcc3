"""A discriminative correlation-filter tracker in JAX: no training, runs on any machine.

Features are multi-channel (soft-binned gradient orientations pooled in cells, intensity and
chromaticity). The filter is, by default, background-aware (BACF): trained on a wide region with
its spatial support constrained to the target by ADMM, so the search region can be wide without
learning the background; `solver="dcf"` gives the closed-form multi-channel ridge regression
instead. The position merges the filter's response with a colour-histogram score (Staple,
`tracking/colour.py`); the size comes from a separate DSST scale filter over 33 scales
(`tracking/scale.py`) or from searching a few scaled regions; the confidence is checked
against the first frame's filter. Feature extraction, learning and
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

from tanet_jax.geometry import box_center, box_from_center, region_inside, resample_region
from tanet_jax.tracking.colour import ColourModel
from tanet_jax.tracking.features import features
from tanet_jax.tracking.protocol import SearchResult
from tanet_jax.tracking.scale import ScaleFilter


@dataclasses.dataclass(frozen=True)
class CFParams:
    """Sizes and rates of the correlation filter. "dev + synthetic": chosen on ../shared/data/dev
    plus 12 synthetic videos, each tracked from 3 starts and averaged; "dev": on ../shared/data/dev
    alone. A field without a note was set by hand. The sweeps: experiments/results/tracking.md."""

    window: int = 128  # side of the resized search region, pixels
    cell: int = 4  # feature cell, pixels
    padding: float = 2.0  # region = target size * (1 + padding)
    orientations: int = 31  # 31: fHOG; otherwise a soft orientation histogram with this many bins
    lam: float = 1e-3  # ridge regularisation
    sigma: float = 0.1  # label width, as a fraction of the target size in cells
    learning_rate: float = 0.01  # the filter's learning rate; chosen on dev, one start
    scales: tuple[float, ...] = (1.0,)  # scaled regions searched; one: the scale filter sizes the box; dev + synthetic
    scale_penalty: float = 0.985  # with several scales, the other scales' peaks times this; chosen on dev, 3 starts
    min_size: float = 6.0  # smallest box side, pixels
    color: bool = True  # add cell-pooled colour channels to the gradient histogram
    solver: str = "bacf"  # "dcf": closed-form filter; "bacf": filter support constrained to the target (ADMM)
    admm_iterations: int = 2  # ADMM iterations per filter update
    mu: float = 1.0  # ADMM penalty
    beta: float = 10.0  # ... its growth factor per iteration
    mu_max: float = 1e4  # ... and its cap
    support: float = 1.0  # bacf: filter support = target size * support
    scale_filter: bool = True  # size the box with a DSST scale filter (scale.py); dev + synthetic
    scale_count: int = 33  # the scale filter's scales (the DSST paper's setting)
    scale_step: float = 1.02  # ... their spacing (the DSST paper's setting)
    scale_learning_rate: float = 0.025  # ... its learning rate (the DSST paper's setting)
    colour_weight: float = 0.3  # weight of the colour-histogram score (colour.py) in the response; dev + synthetic
    colour_bins: int = 16  # levels per channel of the colour histograms; dev + synthetic
    colour_learning_rate: float = 0.04  # how fast the colour histograms learn; dev + synthetic
    reliability: bool = False  # bacf: support limited to the target's colours (CSR-DCF); off: a tie on dev + synthetic


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def spectrum(patch: jax.Array, window: jax.Array, cell: int, orientations: int, color: bool) -> jax.Array:
    """Windowed features of one patch in the Fourier domain, (n, n, C)."""
    return jnp.fft.fft2(features(patch, cell, orientations, color) * window[..., None], axes=(0, 1))


@jax.jit
def solve_bacf(xf: jax.Array, label_f: jax.Array, mask: jax.Array, lam: float, mu: float, beta: float,
               mu_max: float, iterations: int) -> jax.Array:
    """Filter (n, n, C) whose spatial support lies in `mask`, by ADMM (background-aware CF).

    The unconstrained step is solved per frequency with Sherman-Morrison; the constrained step
    masks the filter in space. Training on the whole padded region while the filter covers only
    the target lets the search region be large without learning the background as the target.
    """
    k = xf.shape[0] * xf.shape[1]
    a_dot_g = jnp.conj(xf) * label_f[..., None]
    energy = jnp.sum(jnp.real(xf * jnp.conj(xf)), axis=-1, keepdims=True)

    def step(i, carry):
        h, l, mu_i = carry
        rho = mu_i / 2
        b = a_dot_g + rho * (h - l / mu_i)
        g = (b - jnp.conj(xf) * jnp.sum(xf * b, axis=-1, keepdims=True) / (rho + energy)) / rho
        w = jnp.real(jnp.fft.ifft2(g + l / mu_i, axes=(0, 1)))
        h = jnp.fft.fft2(mask[..., None] * w * (mu_i * k / (lam + mu_i * k)), axes=(0, 1))
        l = l + mu_i * (g - h)
        return h, l, jnp.minimum(beta * mu_i, mu_max)

    zero = jnp.zeros_like(xf)
    h, _, _ = jax.lax.fori_loop(0, iterations, step, (zero, zero, jnp.asarray(mu, jnp.float32)))
    return h


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def respond(filters_f: jax.Array, patches: jax.Array, window: jax.Array, cell: int, orientations: int,
            color: bool) -> jax.Array:
    """Responses (S, F, n, n) of F filters (F, n, n, C, Fourier domain) on S patches."""
    feats = jax.vmap(lambda p: features(p, cell, orientations, color))(patches) * window[None, ..., None]
    z = jnp.fft.fft2(feats, axes=(1, 2))
    return jnp.real(jnp.fft.ifft2(jnp.sum(filters_f[None] * z[:, None], axis=-1), axes=(2, 3)))


def _peak(response: np.ndarray) -> tuple[float, float, float, int, int]:
    """Peak value, its (dy, dx) in cells (wrapped around, parabolic sub-cell refinement), its index."""
    n = response.shape[0]
    iy, ix = np.unravel_index(int(np.argmax(response)), response.shape)

    def refine(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if d >= 0 else 0.5 * (a - c) / d

    dy = iy + refine(response[iy - 1, ix], response[iy, ix], response[(iy + 1) % n, ix])
    dx = ix + refine(response[iy, ix - 1], response[iy, ix], response[iy, (ix + 1) % n])
    dy = dy - n if dy > n / 2 else dy
    dx = dx - n if dx > n / 2 else dx
    return float(response[iy, ix]), dy, dx, int(iy), int(ix)


class CorrelationFilterTracker:
    """The LocalTracker protocol over a jitted DCF with scale search."""

    def __init__(self, params: CFParams = CFParams()) -> None:
        if params.window % params.cell:
            raise ValueError(f"window {params.window} must be a multiple of cell {params.cell}")
        if params.solver not in ("dcf", "bacf"):
            raise ValueError(f"CFParams.solver must be 'dcf' or 'bacf', got {params.solver!r}")
        self.p = params
        self.n = params.window // params.cell
        hann = np.hanning(self.n + 2)[1:-1].astype(np.float32)
        self.window = jnp.asarray(np.outer(hann, hann))
        mask = self._support_mask()
        if params.solver == "bacf" and not mask.any():
            raise ValueError(f"CFParams: window {params.window} / cell {params.cell} with padding {params.padding} "
                             "leaves the target less than one feature cell wide; lower the padding or the cell")
        self.mask = jnp.asarray(mask)
        self.model = None  # dcf: (numerator, denominator); bacf: feature spectrum
        self.filter_f = None
        self.first_f = None  # the first frame's filter, never updated: it verifies what was found
        self.first_peak = 1.0
        self.size = np.zeros(2)
        self.frame_size = (1, 1)
        self.scale = None
        self.colour = None

    def _support_mask(self) -> np.ndarray:
        """The filter's spatial support: the target's extent around the patch centre, in cells."""
        side = self.n / (1 + self.p.padding) * self.p.support
        r = np.arange(self.n) + 0.5 - self.n / 2
        inside = np.abs(r) <= side / 2
        return np.outer(inside, inside).astype(np.float32)

    def _label(self, size: np.ndarray) -> jax.Array:
        region = size * (1 + self.p.padding)
        sigma = np.sqrt(np.prod(size / region)) * self.n * self.p.sigma
        r = np.arange(self.n)
        r = np.minimum(r, self.n - r)  # peak at (0, 0), circular
        g = np.exp(-0.5 * (r[:, None] ** 2 + r[None, :] ** 2) / sigma**2).astype(np.float32)
        return jnp.fft.fft2(jnp.asarray(g))

    def _learn(self, frame: np.ndarray, box: Sequence[float], rate: float) -> np.ndarray:
        """Blend what the patch at `box` shows into the model and recompute the filter; returns
        the patch."""
        region = self.size * (1 + self.p.padding)
        patch = resample_region(frame, box_center(box), region, self.p.window)
        if self.colour is not None:
            self.colour.learn(patch, region_inside(box_center(box), region, self.p.window, self.frame_size),
                              rate=1.0 if self.model is None else None)
        xf = spectrum(jnp.asarray(patch), self.window, self.p.cell, self.p.orientations, self.p.color)
        if self.p.solver == "dcf":
            new = (self.label_f[..., None] * jnp.conj(xf), jnp.sum(jnp.real(xf * jnp.conj(xf)), axis=-1))
            self.model = new if self.model is None else tuple((1 - rate) * m + rate * x
                                                              for m, x in zip(self.model, new))
            num, den = self.model
            self.filter_f = num / (den[..., None] + self.p.lam)
        else:
            self.model = xf if self.model is None else (1 - rate) * self.model + rate * xf
            mask = self.mask
            if self.p.reliability and self.colour is not None:
                mask = self.colour.reliability(patch, self.mask)
            self.filter_f = solve_bacf(self.model, self.label_f, mask, self.p.lam, self.p.mu, self.p.beta,
                                       self.p.mu_max, self.p.admm_iterations)
        return patch

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
        self.model = None
        if self.p.colour_weight > 0 or self.p.reliability:
            self.colour = ColourModel(self.p.window, self.p.padding, self.p.cell, self.p.colour_bins,
                                      self.p.colour_learning_rate)
        patch = self._learn(frame, box, 1.0)
        self.first_f = self.filter_f
        self.first_peak = max(float(np.asarray(self._responses(patch[None]))[0, 1, 0, 0]), 1e-6)
        if self.p.scale_filter:
            self.scale = ScaleFilter(self.p.scale_count, self.p.scale_step, self.p.scale_learning_rate,
                                     cell=self.p.cell, orientations=self.p.orientations, color=self.p.color)
            self.scale.learn(frame, box_center(box), self.size, rate=1.0)

    def _responses(self, patches: np.ndarray) -> jax.Array:
        """(S, 2, n, n): the current and the first frame's filter on each patch."""
        return respond(jnp.stack([self.filter_f, self.first_f]), jnp.asarray(patches), self.window, self.p.cell,
                       self.p.orientations, self.p.color)

    def search(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float] | None = None) -> SearchResult:
        """Best box over the scaled regions around `center`.

        The box is where the current (adapted) filter peaks; the confidence is the first frame's
        filter's response there relative to its response at initialisation. An adapted filter
        stays confident after drifting onto background it has since learned; the first frame's
        filter does not (on ../shared sequences and synthetic videos, ROC-AUC 0.93 separating
        IoU > 0.5 from IoU < 0.1, against 0.42 for the adapted filter's peak).
        """
        size = self.size if size is None else np.asarray(size, np.float64)
        regions = [size * s * (1 + self.p.padding) for s in self.p.scales]
        patches = np.stack([resample_region(frame, center, r, self.p.window) for r in regions])
        responses = np.asarray(self._responses(patches))
        best = None
        for i, (s, response) in enumerate(zip(self.p.scales, responses)):
            value = _peak(response[0])[0]
            score = value * (1.0 if s == 1.0 else self.p.scale_penalty)
            if best is None or score > best[0]:
                best = (score, i)
        i = best[1]
        response = responses[i, 0]
        colour = None
        if self.colour is not None and self.p.colour_weight > 0:  # the position from both (Staple)
            colour = self.colour.respond(patches[i : i + 1])[0]
            response = (1 - self.p.colour_weight) * response + self.p.colour_weight * colour
        _, dy, dx, iy, ix = _peak(response)
        recent = float("nan") if colour is None else float(colour[iy, ix])  # the colour model follows the target
        shift = np.array([dx, dy]) * self.p.cell * regions[i] / self.p.window
        confidence = responses[i, 1, iy, ix] / self.first_peak
        new_center, new_size = np.asarray(center) + shift, size * self.p.scales[i]
        if self.scale is not None:  # the size from the scale filter alone (the scaled regions only place the target)
            new_size = size * self.scale.estimate(frame, new_center, size)
        new_size = np.maximum(new_size, self.p.min_size)
        new_size = np.minimum(new_size, np.array(self.frame_size, float))
        return SearchResult(box_from_center(new_center, new_size), float(confidence), recent)

    def judge(self, frame: np.ndarray, box: Sequence[float]) -> tuple[float, float]:
        """(confidence, recent) of a box another tracker found, on `search`'s scales: the first
        frame's filter's largest response within one feature cell of the box's centre (a tracker
        placing the box a cell off is not penalised) relative to its response at initialisation,
        and the colour model's score at the centre (NaN without colour)."""
        size = np.asarray(box[2:], np.float64)
        patch = resample_region(frame, box_center(box), size * (1 + self.p.padding), self.p.window)[None]
        near = np.ix_([-1, 0, 1], [-1, 0, 1])  # the response's origin is the region's centre (wrapped)
        confidence = float(np.asarray(self._responses(patch))[0, 1][near].max()) / self.first_peak
        recent = float("nan")
        if self.colour is not None and self.p.colour_weight > 0:
            recent = float(self.colour.respond(patch)[0, 0, 0])
        return confidence, recent

    def update(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Blend the target at `box` into the model (running average)."""
        self.size = np.array([box[2], box[3]], np.float64)
        self._learn(frame, box, self.p.learning_rate)
        if self.scale is not None:
            self.scale.learn(frame, box_center(box), self.size)
