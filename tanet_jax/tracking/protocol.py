"""The protocol every local tracker follows, so the joint tracker never depends on which one."""

from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence

import numpy as np


class SearchResult(NamedTuple):
    """A box [x, y, w, h] found in a search region and how confident the tracker is in it
    (a score in which larger is better, on a scale a threshold can use: ~1 means 'as at init')."""

    box: np.ndarray
    confidence: float
    recent: float = float("nan")  # how much the box looks like the target lately (NaN: the tracker cannot say)


class LocalTracker(Protocol):
    """initialise on (frame, box); search a region (centre, size) of a frame; learn from a box."""

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start on a uint8 BGR frame with the target's [x, y, w, h] box."""

    def search(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float]) -> SearchResult:
        """Look for the target around `center` (x, y) with the target size (w, h)."""

    def update(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Adapt the model to the target at `box` in this frame."""

