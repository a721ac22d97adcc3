"""Global search without learned weights: the target's appearance correlated over the whole frame.

A background-aware correlation filter is trained on the whole (downscaled) first frame: the
target is the positive, every other place of the frame, look-alikes included, a negative. Its
response over a later frame, relative to its peak on the last frame it learned from, is blended
with a colour map (each colour's share of target pixels in the frame, over a target-sized window:
shape-free where the filter is a rigid template) into an attention map in [0, 1] like TANet's, so
the joint tracker's candidates, verification and switch are the same code for every provider.
Both models also learn, slowly, from frames the tracker was sure of.
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
    """Scale of the whole-frame search and how the detector learns. "dev + synthetic": chosen on
    ../shared/data/dev plus 12 synthetic videos, each tracked from 3 starts and averaged. A field
    without a note was set by hand. The sweeps: experiments/results/tracking.md."""

    target_cells: float = 5.0  # the target's mean side in feature cells at the search scale
    cell: int = 4  # feature cell, pixels
    max_upscale: float = 1.0  # never enlarge the frame
    max_cells: int = 12288  # at most this many cells over the frame; 49152 tracks the same on dev + synthetic, slower
    lam: float = 1e-2  # ridge regularisation
    sigma: float = 0.6  # label width, cells
    admm_iterations: int = 2  # ADMM iterations per filter update
    learning_rate: float = 0.05  # per confident frame it learns from
    learn_every: int = 10  # learn from one confident frame in this many (each costs a whole-frame pass)
    background: float = 0.0  # the map's zero: this quantile of the response (0: zero); chosen after looking at Human3
    colour_weight: float = 0.7  # weight of the whole-frame colour map (DAT-style) in the map; 0: off; dev + synthetic
    colour_bins: int = 16  # levels per channel of the colour histograms
    colour_rate: float = 0.1  # how far each frame it learns from moves the histograms


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
        self.counts = None  # (2, bins**3) pixel counts per colour: in the target's box, in the rest of the frame
        self.colour_peak = 1.0  # the colour map's peak on the last frame it learned from (its scale)
        self.extent = np.ones(2)  # the target's (w, h) in grid cells, as on the last frame it was sure of

    def _small(self, frame: np.ndarray) -> np.ndarray:
        """The frame resized to the search grid (uint8): every map and every update starts here."""
        hc, wc = self.grid
        return cv2.resize(frame, (wc * self.p.cell, hc * self.p.cell), interpolation=cv2.INTER_AREA)

    @staticmethod
    def _pixels(small: np.ndarray) -> jax.Array:
        """A resized frame as the features take it: float [0, 1]."""
        return jnp.asarray(small.astype(np.float32) / 255.0)

    def _cell_of(self, box: Sequence[float], frame_size: tuple[int, int]) -> np.ndarray:
        """The grid cell (row, col) holding the box's centre."""
        w, h = frame_size
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        col = int(np.clip(cx / w * self.grid[1], 0, self.grid[1] - 1))
        row = int(np.clip(cy / h * self.grid[0], 0, self.grid[0] - 1))
        return np.array([row, col], np.int32)

    def _solve(self) -> None:
        """The detector's filter from its current model."""
        self.filter_f = solve_bacf(self.model, self.label_f, self.mask, self.p.lam, 1.0, 10.0, 1e4,
                                   self.p.admm_iterations)

    def _spectrum(self, small: np.ndarray, box: Sequence[float], frame_size: tuple[int, int]) -> jax.Array:
        return _frame_spectrum(self._pixels(small), jnp.asarray(self._cell_of(box, frame_size)), self.p.cell,
                               self.orientations, self.color)

    def _colours(self, small: np.ndarray) -> np.ndarray:
        """Each pixel's joint colour bin (`colour_bins` levels per channel)."""
        b = self.p.colour_bins
        q = (small.astype(np.int32) * b) >> 8
        return (q[..., 0] * b + q[..., 1]) * b + q[..., 2]

    def _count_colours(self, small: np.ndarray, box: Sequence[float], frame_size: tuple[int, int]) -> np.ndarray:
        """(2, bins**3) pixel counts per colour inside the box and in the rest of the frame."""
        idx = self._colours(small)
        sx, sy = small.shape[1] / frame_size[0], small.shape[0] / frame_size[1]
        inside = np.zeros(idx.shape, bool)
        x0, y0 = max(int(box[0] * sx), 0), max(int(box[1] * sy), 0)
        x1, y1 = max(int(np.ceil((box[0] + box[2]) * sx)), 0), max(int(np.ceil((box[1] + box[3]) * sy)), 0)
        inside[y0:y1, x0:x1] = True  # clipped: a negative end would count from the far side
        n = self.p.colour_bins**3
        return np.stack([np.bincount(idx[inside], minlength=n), np.bincount(idx[~inside], minlength=n)]).astype(np.float64)

    def colour_map(self, small: np.ndarray) -> np.ndarray:
        """(grid) the mean, over a target-sized window, of each pixel's probability by colour of being
        the target (not yet scaled to [0, 1])."""
        fg, bg = self.counts
        posterior = (fg / np.maximum(fg + bg, 1e-9)).astype(np.float32)[self._colours(small)]
        hc, wc = self.grid
        cells = posterior.reshape(hc, self.p.cell, wc, self.p.cell).mean(axis=(1, 3))
        kw, kh = (max(int(round(v)), 1) for v in self.extent)
        return cv2.boxFilter(cells, -1, (kw, kh), borderType=cv2.BORDER_CONSTANT)

    def _learn_extent(self, box: Sequence[float], frame_size: tuple[int, int]) -> None:
        """The target's size in grid cells (the colour map's window)."""
        self.extent = np.array([box[2] * self.grid[1] / frame_size[0], box[3] * self.grid[0] / frame_size[1]])

    def _measure_peaks(self, small: np.ndarray) -> None:
        """The maps' scales: the detector's (and the colour map's) peak on a frame just learned from.
        The blended model's responses grow (4x over 400 frames of basketball) and a small target's
        colours are a small share of the frame's: against a fixed scale the map would saturate at 1
        everywhere or stay faint everywhere."""
        self.peak = max(float(self._relative(self._respond(small), 1.0).max()), 1e-6)
        if self.p.colour_weight > 0:
            self.colour_peak = max(float(self.colour_map(small).max()), 1e-6)

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
        small = self._small(frame)
        self.model = self._spectrum(small, box, (w, h))
        self._solve()
        self._learn_extent(box, (w, h))
        if self.p.colour_weight > 0:
            self.counts = self._count_colours(small, box, (w, h))
        self._measure_peaks(small)
        self.confident_seen = 0

    def _relative(self, response: jax.Array, peak: float) -> np.ndarray:
        """The response above its background level (`background` quantile), over `peak`."""
        r = np.asarray(response)
        if self.p.background > 0:
            r = r - np.quantile(r, self.p.background)
        return r / peak

    def _respond(self, small: np.ndarray) -> jax.Array:
        """The detector's raw response over the grid of a frame resized to it."""
        return _response(self.filter_f, self._pixels(small), self.p.cell, self.orientations, self.color)

    def response(self, frame: np.ndarray) -> jax.Array:
        """The detector's raw response over the frame's grid."""
        return self._respond(self._small(frame))

    def learn(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Blend a frame the tracker was sure of into the detector (one in `learn_every`)."""
        frame_size = (frame.shape[1], frame.shape[0])
        self._learn_extent(box, frame_size)
        self.confident_seen += 1
        if self.confident_seen % self.p.learn_every:
            return
        small = self._small(frame)
        r = self.p.learning_rate
        self.model = (1 - r) * self.model + r * self._spectrum(small, box, frame_size)
        self._solve()
        if self.p.colour_weight > 0:
            self.counts += self.p.colour_rate * (self._count_colours(small, box, frame_size) - self.counts)
        self._measure_peaks(small)

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """The map over the frame in [0, 1]: the response relative to its peak on the last frame it
        learned from (the first at the start), blended with the colour map (`colour_weight`)."""
        small = self._small(frame)
        m = np.clip(self._relative(self._respond(small), self.peak), 0.0, 1.0)
        if self.p.colour_weight > 0:
            colour = np.clip(self.colour_map(small) / self.colour_peak, 0.0, 1.0)
            m = (1 - self.p.colour_weight) * m + self.p.colour_weight * colour
        return m
