"""Run a joint tracker over a sequence of frames, collecting boxes, confidences and timings."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Sequence

import numpy as np

from tanet_jax.tracking.joint import JointTracker


@dataclasses.dataclass
class TrackResult:
    """Per-frame boxes, confidences, whether global search fired, and the speed."""

    boxes: np.ndarray
    confidence: np.ndarray
    global_search: np.ndarray
    fps: float
    times: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # seconds per frame (0: init)
    candidates: list[list[np.ndarray]] = dataclasses.field(default_factory=list)


def run_sequence(tracker: JointTracker, frames: Sequence[np.ndarray], init_box: Sequence[float],
                 on_frame: Callable[[int, np.ndarray, dict[str, Any]], None] | None = None) -> TrackResult:
    """Track through `frames` (uint8 BGR, lazily loaded is fine) from `init_box` on frame 0."""
    n = len(frames)
    boxes = np.zeros((n, 4))
    conf = np.ones(n)
    fired = np.zeros(n, bool)
    candidates: list[list[np.ndarray]] = [[]]
    boxes[0] = init_box
    times = np.zeros(n)
    first = frames[0]
    t0 = time.perf_counter()
    tracker.initialize(first, init_box)
    times[0] = time.perf_counter() - t0
    if on_frame:
        on_frame(0, first, {"box": boxes[0], "confidence": 1.0, "global_search": False, "candidates": [],
                            "attention": None})
    elapsed = 0.0
    for i in range(1, n):
        frame = frames[i]
        t0 = time.perf_counter()
        out = tracker.track(frame)
        times[i] = time.perf_counter() - t0
        elapsed += times[i]
        boxes[i], conf[i], fired[i] = out["box"], out["confidence"], out["global_search"]
        candidates.append(out["candidates"])
        if on_frame:
            on_frame(i, frame, out)
    return TrackResult(boxes, conf, fired, (n - 1) / max(elapsed, 1e-9), times, candidates)
