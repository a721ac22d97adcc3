"""Any tracker as the joint tracker's local half: OpenCV's CSRT, KCF and MIL, a got10k-style
tracker, or your own (protocol.BlackBoxTracker: `init(frame, box)`, `update(frame) -> (box,
confidence)`).

The black box moves the box; our correlation filter (cf.py) only judges. Its first frame's filter
scores the box the black box returns (times the black box's own confidence: the confidence that
triggers global search), and it searches the attention's candidates, so global candidates are
verified by the same appearance model whichever tracker runs. When the joint tracker's box differs
from the black box's (a candidate won, a map placed the box), the black box is restarted there.
Nothing here is tuned: OpenCV's trackers run with their default parameters, the switch with the
`joint` section's (chosen for our own tracker), the product of confidences and the one-cell
tolerance of `CorrelationFilterTracker.judge` are set by hand."""

from __future__ import annotations

import ctypes
import math
import sys
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from tanet_jax.tracking.cf import CorrelationFilterTracker
from tanet_jax.tracking.protocol import BlackBoxTracker, SearchResult

# local.kind -> OpenCV's constructor (opencv-contrib); "cf" is ours (cf.py)
OPENCV = {"csrt": "TrackerCSRT_create", "kcf": "TrackerKCF_create", "mil": "TrackerMIL_create"}


def opencv_factory(kind: str) -> Callable[[], Any]:
    """OpenCV's constructor of tracker `kind` (in cv2 or cv2.legacy), or a ValueError naming what to install."""
    name = OPENCV[kind]
    make = getattr(cv2, name, None) or getattr(getattr(cv2, "legacy", None), name, None)
    if make is None:
        raise ValueError(f"local.kind {kind!r} needs OpenCV's contrib trackers (cv2.{name}), absent from "
                         f"OpenCV {cv2.__version__}: pip uninstall -y opencv-python && "
                         "pip install opencv-contrib-python-headless")
    return make


def seed_c_rand(seed: int = 1) -> None:
    """Reseed C's rand(), which OpenCV's MIL draws its Haar features from (cv2.setRNGSeed does not
    reach it): reseeded at each init, MIL tracks a sequence the same way whatever ran before it in
    the process (seed 1: as in a fresh process). No-op where the C library cannot be loaded."""
    try:
        libc = ctypes.CDLL("msvcrt" if sys.platform == "win32" else None)
        libc.srand(ctypes.c_uint(seed))
    except (OSError, AttributeError):
        pass


def _rect(box: Sequence[float], frame: np.ndarray) -> tuple[int, int, int, int]:
    """The box as OpenCV's integer rectangle, clipped to the frame (at least one pixel inside)."""
    h, w = frame.shape[:2]
    x0 = int(np.clip(round(box[0]), 0, w - 1))
    y0 = int(np.clip(round(box[1]), 0, h - 1))
    x1 = int(np.clip(round(box[0] + box[2]), x0 + 1, w))
    y1 = int(np.clip(round(box[1] + box[3]), y0 + 1, h))
    return x0, y0, x1 - x0, y1 - y0


class OpenCVTracker:
    """An OpenCV tracker (CSRT, KCF, MIL or any cv2.Tracker) as a BlackBoxTracker. Its confidence is
    `getTrackingScore()` where that is in [0, 1] (DaSiamRPN, Nano, Vit); CSRT, KCF and MIL give -1
    (none): 1, so our appearance model judges alone. A frame it reports lost keeps its previous box
    at confidence 0 (as experiments/bench/opencv_trackers.py scores OpenCV alone)."""

    def __init__(self, create: str | Callable[[], Any]) -> None:
        self.create = opencv_factory(create) if isinstance(create, str) else create
        self.tracker: Any = None
        self.box = np.zeros(4)

    def init(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """A fresh OpenCV tracker on this frame and box (OpenCV's own `init` cannot always restart one),
        C's rand() reseeded (MIL's features: seed_c_rand)."""
        seed_c_rand()
        self.tracker = self.create()
        self.tracker.init(frame, _rect(box, frame))
        self.box = np.array(box, np.float64)

    def update(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """OpenCV's box and score on the next frame."""
        ok, rect = self.tracker.update(frame)
        if not ok:
            return self.box.copy(), 0.0
        self.box = np.asarray(rect, np.float64)
        score = self.tracker.getTrackingScore() if hasattr(self.tracker, "getTrackingScore") else -1.0
        return self.box.copy(), float(score) if 0.0 <= score <= 1.0 else 1.0


class Got10kStyleTracker:
    """A got10k-toolkit-style tracker (`init(image, box)`, `update(image) -> box` on PIL RGB images,
    e.g. a got10k.trackers.Tracker) as a BlackBoxTracker; it gives no confidence: 1, our model judges."""

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker

    @staticmethod
    def _image(frame: np.ndarray) -> Any:
        """A BGR frame as the PIL RGB image such trackers read."""
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(frame[:, :, ::-1]))

    def init(self, frame: np.ndarray, box: Sequence[float]) -> None:
        self.tracker.init(self._image(frame), np.array(box, np.float64))

    def update(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        return np.asarray(self.tracker.update(self._image(frame)), np.float64), 1.0


def checked_update(output: Any, last: np.ndarray) -> tuple[np.ndarray, float]:
    """A black box's (box, confidence) with the confidence clipped into [0, 1]; a box that is not
    finite or has no area means lost (the last box, confidence 0); anything but a pair of a
    4-number box and a number is a ValueError saying what the protocol expects."""
    try:
        box, confidence = output
        box, confidence = np.array(box, np.float64).reshape(4), float(confidence)  # a copy: never the tracker's own
    except (TypeError, ValueError):
        raise ValueError(f"a BlackBoxTracker's update(frame) returns (box [x, y, w, h], confidence in [0, 1]), got "
                         f"{output!r}; wrap a got10k-style tracker (update -> box) in Got10kStyleTracker") from None
    if not (np.isfinite(box).all() and box[2] > 0 and box[3] > 0) or math.isnan(confidence):
        return np.asarray(last, np.float64).copy(), 0.0
    return box, min(max(confidence, 0.0), 1.0)


class BlackBoxLocal:
    """A BlackBoxTracker as the joint tracker's LocalTracker: the black box gives the local result
    (`step`), the correlation filter `verifier` scores it and searches global candidates, and
    learns from the frames the joint tracker is sure of unless `learn` is off (no candidates will be
    searched: attention 'none'; the boxes are the same, the filter's updates are saved)."""

    def __init__(self, tracker: BlackBoxTracker, verifier: CorrelationFilterTracker, learn: bool = True) -> None:
        if not isinstance(tracker, BlackBoxTracker):
            raise ValueError(f"{type(tracker).__name__} is not a BlackBoxTracker: it needs init(frame, box) and "
                             "update(frame) -> (box, confidence)")
        self.tracker, self.verifier, self.learn = tracker, verifier, learn

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start the verifier (which checks the box) and the black box."""
        self.verifier.initialize(frame, box)
        self.tracker.init(frame, np.array(box, np.float64))  # a copy the tracker may keep

    def step(self, frame: np.ndarray, box: Sequence[float]) -> SearchResult:
        """The black box's box on this frame, with the verifier's confidence there times its own."""
        found, own = checked_update(self.tracker.update(frame), np.asarray(box, np.float64))
        confidence, recent = self.verifier.judge(frame, found)
        return SearchResult(found, own * confidence, recent)

    def search(self, frame: np.ndarray, center: Sequence[float], size: Sequence[float]) -> SearchResult:
        """A global candidate, found and scored by the verifier as for our own tracker."""
        return self.verifier.search(frame, center, size)

    def update(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """The verifier learns from a frame the joint tracker is sure of (the black box learns by itself)."""
        if self.learn:
            self.verifier.update(frame, box)

    def relocate(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Restart the black box where the joint tracker put the target."""
        restart = getattr(self.tracker, "reinit", None) or self.tracker.init
        restart(frame, np.array(box, np.float64))
