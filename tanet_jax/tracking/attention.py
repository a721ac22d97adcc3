"""Attention providers for the joint tracker: TANet's predictor, the ground truth (an upper bound
for the switch, labelled so everywhere), or none (local search only)."""

from __future__ import annotations

from typing import Protocol, Sequence

import cv2
import numpy as np

from tanet_jax.geometry import box_mask
from tanet_jax.preprocess import preprocess_frame, preprocess_target


class AttentionProvider(Protocol):
    """Gives a map in [0, 1] over frame i (any resolution), or None. A provider whose map covers the
    target's extent (not only its centre) says so with a class attribute `outlines = True`."""

    name: str

    def start(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Called once with the first frame and the target's box."""

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> np.ndarray | None:
        """The map for frame `index` (previous is frame index-1)."""


class NoAttention:
    """Local search only."""

    name = "none"

    def start(self, frame: np.ndarray, box: Sequence[float]) -> None:
        pass

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> None:
        return None


class GroundTruthAttention:
    """Box masks from the annotations: what a perfect attention would give (an upper bound)."""

    name = "groundtruth (upper bound)"
    outlines = True  # its region is the target's extent

    def __init__(self, boxes: np.ndarray, absent: np.ndarray | None = None) -> None:
        self.boxes = np.asarray(boxes, np.float64)
        self.absent = np.zeros(len(boxes), bool) if absent is None else np.asarray(absent, bool)

    def start(self, frame: np.ndarray, box: Sequence[float]) -> None:
        pass

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        if index >= len(self.boxes) or self.absent[index]:
            return np.zeros((h, w), np.float32)
        return box_mask(self.boxes[index], h, w).astype(np.float32)


class TanetAttention:
    """TANet's map of frame i from the clip (i-1, i); the target is encoded once at start."""

    name = "tanet"
    outlines = True  # trained to cover the target (its box mask)

    def __init__(self, predictor) -> None:
        self.predictor = predictor
        self.target = None

    def start(self, frame: np.ndarray, box: Sequence[float]) -> None:
        s = self.predictor.input_size
        self.target = self.predictor.encode_target(preprocess_target(frame, box, s)[None])

    def __call__(self, index: int, frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
        s = self.predictor.input_size
        cur, prev = preprocess_frame(frame, s), preprocess_frame(previous, s)
        return np.asarray(self.predictor.predict(cur[None], np.stack([prev, cur])[None], self.target))[0]


def map_peak(attention: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(x, y) in frame pixels of the centre of the map's strongest cell: where global search looks first."""
    mh, mw = attention.shape[:2]
    sx, sy = frame_size[0] / mw, frame_size[1] / mh
    peak_y, peak_x = np.unravel_index(int(np.argmax(attention)), attention.shape[:2])
    return np.array([(peak_x + 0.5) * sx, (peak_y + 0.5) * sy])


def candidate_regions(attention: np.ndarray, frame_size: tuple[int, int], top_k: int = 3,
                      threshold: float = 0.5) -> list[np.ndarray]:
    """Centres (x, y) in frame pixels: the attention peak, then the top-k connected components
    of the thresholded map by attention mass (threshold relative to the peak when nothing passes)."""
    m = np.asarray(attention, np.float32)
    if m.max() <= 0:
        return []
    mh, mw = m.shape
    sx, sy = frame_size[0] / mw, frame_size[1] / mh
    centers = [map_peak(m, frame_size)]
    level = threshold if (m >= threshold).any() else 0.5 * float(m.max())
    count, labels, _, _ = cv2.connectedComponentsWithStats((m >= level).astype(np.uint8), connectivity=8)
    found = []
    ys, xs = np.mgrid[0:mh, 0:mw]
    for label in range(1, count):
        sel = labels == label
        mass = float(m[sel].sum())
        cx = float((xs[sel] * m[sel]).sum() / mass + 0.5) * sx
        cy = float((ys[sel] * m[sel]).sum() / mass + 0.5) * sy
        found.append((mass, np.array([cx, cy])))
    found.sort(key=lambda t: -t[0])
    for _, c in found[:top_k]:
        if all(np.linalg.norm(c - d) > 2 for d in centers):
            centers.append(c)
    return centers
