"""The protocols trackers follow, so the joint tracker never depends on which one: `LocalTracker`
(the interface the joint switch drives) and `BlackBoxTracker` (any tracker seen only through
init/update: OpenCV's, a got10k-style one, the user's own), which `blackbox.BlackBoxLocal` turns
into a LocalTracker."""

from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence, runtime_checkable

import numpy as np


class SearchResult(NamedTuple):
    """A box [x, y, w, h] found in a search region and how confident the tracker is in it
    (a score in which larger is better, on a scale a threshold can use: ~1 means 'as at init')."""

    box: np.ndarray
    confidence: float
    recent: float = float("nan")  # how much the box looks like the target lately (NaN: the tracker cannot say)


class LocalTracker(Protocol):
    """initialise on (frame, box); search a region (centre, size) of a frame; learn from a box.

    Two optional methods let a tracker that moves itself take part (the joint tracker calls them
    where they exist): `step(frame, box) -> SearchResult`, the local result on a new frame from the
    last box (without it: `search` around the last box), and `relocate(frame, box)`, called when
    the joint tracker's box differs from that local result by more than 1e-6 px (a global candidate
    won, a map placed the box, or keep_inside moved its centre into the frame)."""

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start on a uint8 BGR frame with the target's [x, y, w, h] box."""

    def search(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float]) -> SearchResult:
        """Look for the target around `center` (x, y) with the target size (w, h)."""

    def update(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Adapt the model to the target at `box` in this frame."""


@runtime_checkable
class BlackBoxTracker(Protocol):
    """Any single-object tracker: OpenCV's, a deep tracker, your own. Frames are uint8 BGR arrays
    (H, W, 3), boxes [x, y, w, h] in pixels. An optional `reinit(frame, box)` restarts it where
    global search found the target (without it: `init` is called again)."""

    def init(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start on the first frame with the target's box."""

    def update(self, frame: np.ndarray) -> tuple[Sequence[float], float]:
        """The target's box on the next frame and how sure the tracker is, in [0, 1]: 1 when it
        cannot say (our appearance model then judges alone), 0 when it lost the target."""
