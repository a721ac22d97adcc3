"""Global search without learned weights: the target's appearance correlated over the whole frame.

A background-aware correlation filter is trained on the whole (downscaled) first frame: the
target is the positive, every other place of the frame, look-alikes included, a negative. Its
response over a later frame, relative to its peak on the last frame it learned from, is an attention map in
[0, 1] like TANet's, so the joint tracker's candidates, verification and switch are the same code
for every provider. The model also learns, slowly, from frames the tracker was sure of.
It is the baseline a learned attention must beat (long-term trackers re-detect the same way:
LCT's online detector, TLD, MUSTer).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Sequence

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from tanet_jax.tracking.cf import solve_bacf
from tanet_jax.tracking.features import features


@dataclasses.dataclass(frozen=True)
class RedetectParams:
    """Scale of the whole-frame search and how the detector learns."""

    target_cells: float = 5.0  # the target's mean side in feature cells at the search scale
    cell: int = 4
    max_upscale: float = 1.0  # never enlarge the frame
    # at most this many cells over the frame (tiny targets get fewer cells each). 12288 leaves a 21x12 px
    # target of a 1280x720 frame 2.4x1.4 cells: the map's peak fell on truck4_2 in 2% of its frames,
    # 42% with 49152, at 4.4x the time per map (12 -> 54 ms; experiments/bench/redetect_quality.py).
    # Tracking on ../shared/data/dev + synthetic was the same with either (3 starts): the cheaper one
    max_cells: int = 12288
    lam: float = 1e-2
    sigma: float = 0.6  # label width, cells
    admm_iterations: int = 2
    learning_rate: float = 0.05  # per confident frame it learns from
    learn_every: int = 10  # learn from one confident frame in this many (each costs a whole-frame pass)
    # the map's zero: this quantile of each response over the frame (0: zero). A correlation response
    # has a broad floor: at 0 the map's area at half its peak was 31-135 box areas on three dev
    # sequences, so it never agreed with the tracker (`JointParams.agree_spread`) and went unused;
    # 0.9 leaves the peaks (0.1-1.4 box areas; experiments/bench/redetect_quality.py). On dev +
    # synthetic 0.9 scored best (3 starts, 0.617 vs 0.609 dev) but cross-validated as a tie (0.699 vs
    # 0.698), and on Human3 (not used for choices) its sharper map led the tracker to a look-alike
    # walker (0.469 -> 0.375): off by default, a choice made after seeing that sequence (tracking.md)
    background: float = 0.0


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def _frame_spectrum(image: jax.Array, shift: jax.Array, cell: int, orientations: int, color: bool) -> jax.Array:
    """Features of the whole frame, rolled so that cell `shift` lands at the origin, in Fourier."""
    f = features(image, cell, orientations, color)
    f = jnp.roll(f, (-shift[0], -shift[1]), axis=(0, 1))
    return jnp.fft.fft2(f, axes=(0, 1))


@partial(jax.jit, static_argnames=("cell", "orientations", "color"))
def _response(filter_f: jax.Array, image: jax.Array, cell: int, orientations: int, color: bool) -> jax.Array:
    """The detector's response at every cell of the frame."""
    f = features(image, cell, orientations, color)
    z = jnp.fft.rfft2(f, axes=(0, 1))  # the filter is real in space: half the spectrum is enough
    half = filter_f[:, : z.shape[1]]
    return jnp.fft.irfft2(jnp.sum(half * z, axis=-1), s=f.shape[:2])


class CorrelationAttention:
    """An attention provider from the tracker's own kind of appearance model, over the whole frame."""

    name = "correlation"

    def __init__(self, params: RedetectParams = RedetectParams(), orientations: int = 31, color: bool = True) -> None:
        self.p, self.orientations, self.color = params, orientations, color
        self.scale = 1.0
        self.grid = (1, 1)
        self.model = None
        self.filter_f = None
        self.peak = 1.0
        self.confident_seen = 0

    def _image(self, frame: np.ndarray) -> jax.Array:
        """The frame resized to the search grid, float [0, 1]."""
        hc, wc = self.grid
        small = cv2.resize(frame, (wc * self.p.cell, hc * self.p.cell), interpolation=cv2.INTER_AREA)
        return jnp.asarray(small.astype(np.float32) / 255.0)

    def _cell_of(self, box: Sequence[float], frame: np.ndarray) -> np.ndarray:
        """The grid cell (row, col) holding the box's centre."""
        h, w = frame.shape[:2]
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        col = int(np.clip(cx / w * self.grid[1], 0, self.grid[1] - 1))
        row = int(np.clip(cy / h * self.grid[0], 0, self.grid[0] - 1))
        return np.array([row, col], np.int32)

    def _solve(self) -> None:
        """The detector's filter from its current model."""
        self.filter_f = solve_bacf(self.model, self.label_f, self.mask, self.p.lam, 1.0, 10.0, 1e4,
                                   self.p.admm_iterations)

    def _spectrum(self, frame: np.ndarray, box: Sequence[float]) -> jax.Array:
        return _frame_spectrum(self._image(frame), jnp.asarray(self._cell_of(box, frame)), self.p.cell,
                               self.orientations, self.color)

    def start(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Fix the search scale from the target's size and learn the detector on the first frame."""
        h, w = frame.shape[:2]
        side = float(np.sqrt(max(box[2], 1.0) * max(box[3], 1.0)))
        cap = self.p.cell * np.sqrt(self.p.max_cells / (h * w))
        self.scale = min(self.p.target_cells * self.p.cell / side, self.p.max_upscale, cap)
        self.grid = (max(int(round(h * self.scale / self.p.cell)), 4), max(int(round(w * self.scale / self.p.cell)), 4))
        hc, wc = self.grid
        ry, rx = np.minimum(np.arange(hc), hc - np.arange(hc)), np.minimum(np.arange(wc), wc - np.arange(wc))
        label = np.exp(-0.5 * (ry[:, None] ** 2 + rx[None, :] ** 2) / self.p.sigma**2).astype(np.float32)
        self.label_f = jnp.fft.fft2(jnp.asarray(label))
        # the filter's support: the target's extent (in cells) around the origin, wrapped
        th = max(box[3] * hc / h / 2, 0.5)
        tw = max(box[2] * wc / w / 2, 0.5)
        self.mask = jnp.asarray(((ry[:, None] <= th) & (rx[None, :] <= tw)).astype(np.float32))
        self.model = self._spectrum(frame, box)
        self._solve()
        self._measure_peak(frame)
        self.confident_seen = 0

    def _measure_peak(self, frame: np.ndarray) -> None:
        """The map's scale: the detector's peak response on a frame it has just learned from."""
        self.peak = max(float(self._relative(self.response(frame), 1.0).max()), 1e-6)

    def _relative(self, response: jax.Array, peak: float) -> np.ndarray:
        """The response above its background level (`background` quantile), over `peak`."""
        r = np.asarray(response)
        if self.p.background > 0:
            r = r - np.quantile(r, self.p.background)
        return r / peak

    def response(self, frame: np.ndarray) -> jax.Array:
        """The detector's raw response over the frame's grid."""
        return _response(self.filter_f, self._image(frame), self.p.cell, self.orientations, self.color)

    def learn(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Blend a frame the tracker was sure of into the detector (one in `learn_every`)."""
        self.confident_seen += 1
        if self.confident_seen % self.p.learn_every:
            return
        r = self.p.learning_rate
        self.model = (1 - r) * self.model + r * self._spectrum(frame, box)
        self._solve()
        # the blended model's responses grow (4x over 400 frames of basketball): measured against the
        # first frame's peak, the map would saturate at 1 everywhere; keep it relative to this frame's
        self._measure_peak(frame)

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """The map over the frame: the response relative to its peak on the last frame it learned
        from (the first at the start), in [0, 1]."""
        return np.clip(self._relative(self.response(frame), self.peak), 0.0, 1.0)
