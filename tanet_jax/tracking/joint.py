"""The joint local-global tracker: local search while confident; when the previous frame's
confidence fell under a threshold, search where the attention points.

A global candidate replaces the local result only when the first frame's appearance model (the
local tracker's confidence) prefers it clearly, so a poor attention map costs time, not accuracy.
Every k frames the map is checked against confident tracking: a map that agreed earns trust and
may then correct a confident local tracker where it clearly disagrees; a map that disagreed is not
used. The tracker learns only from frames it is sure of and whose box lies inside the frame (never
border-replicated pixels), and its centre stays inside the frame."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import cv2
import numpy as np

from tanet_jax.tracking.attention import AttentionProvider, NoAttention, candidate_regions
from tanet_jax.geometry import box_center, box_from_center, keep_inside, outside_fraction
from tanet_jax.tracking.protocol import LocalTracker, SearchResult


@dataclasses.dataclass(frozen=True)
class JointParams:
    """When to search globally and how to choose. "dev + synthetic": chosen on ../shared/data/dev
    plus 12 synthetic videos, each tracked from 3 starts and averaged (one start where said);
    "dev": on ../shared/data/dev alone, one start. A field without a note was set by hand. The
    sweeps: experiments/results/tracking.md."""

    threshold: float = 0.5  # previous (relative) confidence under this -> global search
    raw_threshold: float = 0.0  # or the previous absolute confidence (1 = as at start) under this; 0: off (dev)
    every: int = 5  # every k frames, check the map against confident tracking (0: never); dev
    cooldown: int = 3  # after a global search that changed nothing, wait this many frames before the next
    top_k: int = 3  # attention components searched (besides the peak)
    map_threshold: float = 0.5  # components are where the map reaches this (half its peak if nowhere does)
    motion_sigma: float = 0.5  # mild motion prior: Gaussian in distance / frame diagonal
    map_weight: float = 1.0  # passing candidates ranked by filter x motion prior x map ** this; dev + synthetic
    update_threshold: float = 0.4  # learn from a frame only when this confident (relative); dev
    switch_margin: float = 1.3  # a global candidate wins only with this many times the local confidence
    learn_threshold: float = 0.5  # the attention provider learns from frames this confident
    max_outside: float = 0.2  # learn nothing when more than this fraction of the box is outside the frame
    accept: float = 0.8  # a global candidate needs at least this relative confidence; dev
    reference_rate: float = 0.1  # how fast the confidence of tracked frames (the reference) follows them
    map_margin: float = 1.5  # a candidate also needs this many times the map's value at the local result; dev
    recent_margin: float = 0.9  # ... and this share of the local result's recent-colour score; dev + synthetic, 1 start
    map_floor: float = 0.25  # ... and the map's own value there at least this (0: off); dev + synthetic
    # Trust: a map that agreed with confident tracking on at least `trust_level` of `trust_checks` or
    # more checks may correct the local result where it clearly disagrees (its value there at most
    # `trust_contrast` times its value at a candidate of at least `map_threshold`); that candidate then
    # needs only `trusted_margin` times the local confidence and `trusted_accept`, on any checked frame.
    trust_contrast: float = 0.2  # dev
    trust_level: float = 0.9
    distrust_level: float = 0.75  # a map agreeing on fewer of its checks is unused; chosen after looking at Human3
    trust_checks: int = 5
    agree_spread: float = 6.0  # agreement needs the map to cover <= this many box areas at half peak; dev + synthetic
    trusted_margin: float = 1.0
    trusted_accept: float = 0.5
    # On a check where a trusted map that outlines the target (provider attribute `outlines`: TANet,
    # the ground truth) agrees, it places the box (0: off):
    size_rate: float = 0.7  # size moved this far (in log) to the region's extent; dev + synthetic, ground-truth maps
    centre_rate: float = 1.0  # centre moved this far to the region's centre; dev + synthetic, ground-truth maps


class JointTracker:
    """Any LocalTracker (ours, or a black box through blackbox.BlackBoxLocal) plus any AttentionProvider."""

    def __init__(self, local: LocalTracker, attention: AttentionProvider | None = None,
                 params: JointParams = JointParams()) -> None:
        self.local, self.attention, self.p = local, attention or NoAttention(), params
        self._reset(None, None)

    def _reset(self, box: Sequence[float] | None, frame: np.ndarray | None) -> None:
        """The per-sequence state, as at the first frame."""
        self.box = None if box is None else np.asarray(box, np.float64)
        self.previous = frame
        self.confidence = 1.0
        self.raw = 1.0
        self.reference = 1.0  # the local confidence of the frames tracked so far (1 at initialisation)
        self.tracked = 0
        self.checks = 0  # periodic map checks on confidently tracked frames
        self.agreed = 0  # ... where the map agreed with the tracker
        self.quiet_until = 0  # no global search before this frame (a fruitless one just ran)
        self.index = 0

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start on the first frame."""
        self.local.initialize(frame, box)
        self.attention.start(frame, box)
        self._reset(box, frame)

    def track(self, frame: np.ndarray) -> dict[str, Any]:
        """The next frame's box, confidence, whether global search fired, its candidates, map."""
        self.index += 1
        size = self.box[2:]
        result = self.local_result(frame)
        # Confidence relative to that of the frames tracked so far: its scale differs per video.
        ref = max(self.reference, 1e-6)
        best_box, best_raw = result.box, result.confidence
        low = self.confidence < self.p.threshold or self.raw < self.p.raw_threshold
        searching = low and self.index >= self.quiet_until
        checking = self.p.every > 0 and self.index % self.p.every == 0
        trusted_map = self.map_trusted()
        if self.map_distrusted():  # the map disagrees with confident tracking: it would only mislead
            searching = False
        candidates: list[np.ndarray] = []
        attention = None
        h, w = frame.shape[:2]
        if searching or checking:
            attention = self.attention(self.index, frame, self.previous)
        fired = attention is not None and (searching or (checking and trusted_map and self.p.trust_contrast > 0))
        if fired:
            diag = float(np.hypot(w, h))
            last = box_center(self.box)
            bar = 0.0  # the best switching candidate's rank so far
            local_map = map_at(attention, box_center(best_box), (w, h))
            for center in candidate_regions(attention, (w, h), self.p.top_k, self.p.map_threshold):
                r = self.local.search(frame, center, size)
                d = np.linalg.norm(box_center(r.box) - last) / diag
                there = map_at(attention, box_center(r.box), (w, h))
                score = r.confidence * np.exp(-0.5 * (d / self.p.motion_sigma) ** 2)
                rank = score * there**self.p.map_weight  # which passing candidate wins
                candidates.append(r.box)
                # a map that has agreed with confident tracking and now clearly disagrees with the local result
                contrast = (trusted_map and self.p.trust_contrast > 0 and there >= self.p.map_threshold
                            and local_map <= self.p.trust_contrast * there)
                if contrast:
                    margin, accept = self.p.trusted_margin, self.p.trusted_accept
                elif searching:
                    margin, accept = self.p.switch_margin, self.p.accept
                else:  # a periodic check with a trusted map: only a clear disagreement may switch
                    continue
                if (score > result.confidence * margin and rank > bar and r.confidence >= accept * ref
                        and there >= self.p.map_margin * local_map and there >= self.p.map_floor
                        and not r.recent < self.p.recent_margin * result.recent):  # NaN: no objection
                    best_box, best_raw, bar = r.box, r.confidence, rank
        switched = best_box is not result.box
        if searching and not switched:
            self.quiet_until = self.index + 1 + self.p.cooldown
        if checking and attention is not None and not switched and result.confidence >= self.p.accept * ref:
            self.calibrate(attention, result.box, (w, h))
            places = self.p.size_rate > 0 or self.p.centre_rate > 0
            if places and trusted_map and getattr(self.attention, "outlines", False):
                best_box = self.fit_to_map(attention, best_box, (w, h))
        best_box = keep_inside(np.asarray(best_box, np.float64), w, h)
        if hasattr(self.local, "relocate") and not np.allclose(best_box, result.box, rtol=0, atol=1e-6):
            self.local.relocate(frame, best_box)  # a tracker that moves itself continues from the joint box
        best_conf = best_raw / ref
        if best_conf >= self.p.update_threshold and outside_fraction(best_box, w, h) <= self.p.max_outside:
            self.local.update(frame, best_box)
            # a running mean at first (the first frames set the video's scale), then a moving average
            self.tracked += 1
            rate = max(self.p.reference_rate, 1.0 / self.tracked)
            self.reference += rate * (min(best_raw, ref * 2) - self.reference)
            if best_conf >= self.p.learn_threshold and hasattr(self.attention, "learn"):
                self.attention.learn(frame, best_box)
        self.box, self.confidence, self.raw, self.previous = best_box, best_conf, best_raw, frame
        return {"box": self.box.copy(), "confidence": best_conf, "global_search": bool(fired),
                "candidates": candidates, "attention": attention}

    def local_result(self, frame: np.ndarray) -> SearchResult:
        """The local tracker's result on a new frame: its own step where it has one (a black box
        moves itself, protocol.LocalTracker), else a search around the last box."""
        if hasattr(self.local, "step"):
            return self.local.step(frame, self.box)
        return self.local.search(frame, box_center(self.box), self.box[2:])

    def calibrate(self, attention: np.ndarray, box: np.ndarray, frame_size: tuple[int, int]) -> None:
        """On a frame tracked confidently: does the map agree (at least half its peak at the box, and
        no more than `agree_spread` box areas at half its peak)?"""
        if float(np.max(attention)) <= 0:  # an empty map (nothing proposed) says nothing about the map's reliability
            return
        self.checks += 1
        agrees, spread = half_peak(attention, box, frame_size)
        if agrees and self.p.agree_spread > 0:
            agrees = spread <= self.p.agree_spread
        self.agreed += int(agrees)

    def fit_to_map(self, attention: np.ndarray, box: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        """The box with its size moved `size_rate` of the way (in log) to the extent of the map's
        region at its centre, and its centre `centre_rate` of the way to that region's centre;
        unchanged where no region covers the centre or its extent is not within 2x."""
        region = map_region(attention, box_center(box), frame_size)
        if region is None:
            return box
        centre, extent = region[:2], region[2:]
        ratio = extent / np.asarray(box[2:], np.float64)
        if np.any(ratio < 0.5) or np.any(ratio > 2.0):
            return box
        here = box_center(box)
        return box_from_center(here + self.p.centre_rate * (centre - here), box[2:] * ratio**self.p.size_rate)

    def map_distrusted(self) -> bool:
        """The map has disagreed with confident tracking too often to be used."""
        return self.checks >= self.p.trust_checks and self.agreed < self.p.distrust_level * self.checks

    def map_trusted(self) -> bool:
        """The map has agreed with confident tracking often enough to be trusted when it disagrees."""
        return self.checks >= self.p.trust_checks and self.agreed >= self.p.trust_level * self.checks


def map_cell(shape: tuple[int, ...], center: np.ndarray, frame_size: tuple[int, int]) -> tuple[int, int]:
    """(row, col) of the map cell (map of `shape`, any resolution) under a frame point (x, y)."""
    mh, mw = shape[:2]
    return (int(np.clip(center[1] / frame_size[1] * mh, 0, mh - 1)),
            int(np.clip(center[0] / frame_size[0] * mw, 0, mw - 1)))


def map_region(attention: np.ndarray, center: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray | None:
    """(cx, cy, w, h) in frame pixels of the bounding box of the map's region (>= half its peak)
    that covers a frame point, or None."""
    m = np.asarray(attention, np.float32)
    peak = float(m.max())
    if peak <= 0:
        return None
    mh, mw = m.shape
    row, col = map_cell(m.shape, center, frame_size)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((m >= 0.5 * peak).astype(np.uint8), connectivity=8)
    label = labels[row, col]
    if label == 0:
        return None
    sx, sy = frame_size[0] / mw, frame_size[1] / mh
    x, y, bw, bh = (stats[label, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    return np.array([(x + bw / 2) * sx, (y + bh / 2) * sy, bw * sx, bh * sy], np.float64)


def half_peak(attention: np.ndarray, box: Sequence[float], frame_size: tuple[int, int]) -> tuple[bool, float]:
    """What a check measures: is the map at the box's centre at least half its peak, and how many
    box areas of the frame the map covers at half its peak or more (its specificity)."""
    peak = float(np.max(attention))
    at = map_at(attention, box_center(box), frame_size) >= 0.5 * peak
    area = float(np.mean(attention >= 0.5 * peak)) * frame_size[0] * frame_size[1]
    return at, area / max(float(box[2] * box[3]), 1.0)


def map_at(attention: np.ndarray, center: np.ndarray, frame_size: tuple[int, int]) -> float:
    """The attention map's largest value within one map cell of a frame point (x, y)."""
    row, col = map_cell(attention.shape, center, frame_size)
    return float(attention[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2].max())
