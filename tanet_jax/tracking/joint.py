"""The joint local-global tracker: local search while confident; when the previous frame's
confidence fell under a threshold (or every k frames), search where the attention points."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from tanet_jax.tracking.attention import AttentionProvider, NoAttention, candidate_regions
from tanet_jax.tracking.protocol import LocalTracker, box_center


@dataclasses.dataclass(frozen=True)
class JointParams:
    """When to search globally and how to choose."""

    threshold: float = 0.35  # previous confidence under this -> global search
    every: int = 0  # also search globally every k frames (0: never)
    top_k: int = 3  # attention components searched (besides the peak)
    map_threshold: float = 0.5
    motion_sigma: float = 0.5  # mild motion prior: Gaussian in distance / frame diagonal
    update_threshold: float = 0.25  # learn from a frame only when this confident


class JointTracker:
    """Any LocalTracker plus any AttentionProvider."""

    def __init__(self, local: LocalTracker, attention: AttentionProvider | None = None,
                 params: JointParams = JointParams()) -> None:
        self.local, self.attention, self.p = local, attention or NoAttention(), params
        self.box = None
        self.previous = None
        self.confidence = 1.0
        self.index = 0

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Start on the first frame."""
        self.local.initialize(frame, box)
        self.attention.start(frame, box)
        self.box = np.asarray(box, np.float64)
        self.previous = frame
        self.confidence = 1.0
        self.index = 0

    def track(self, frame: np.ndarray) -> dict[str, Any]:
        """The next frame's box, confidence, whether global search fired, its candidates, map."""
        self.index += 1
        size = self.box[2:]
        result = self.local.search(frame, box_center(self.box), size)
        best_box, best_conf, best_score = result.box, result.confidence, result.confidence
        fired = self.confidence < self.p.threshold or (self.p.every > 0 and self.index % self.p.every == 0)
        candidates: list[np.ndarray] = []
        attention = None
        if fired:
            attention = self.attention(self.index, frame, self.previous)
            if attention is not None:
                h, w = frame.shape[:2]
                diag = float(np.hypot(w, h))
                last = box_center(self.box)
                for center in candidate_regions(attention, (w, h), self.p.top_k, self.p.map_threshold):
                    r = self.local.search(frame, center, size)
                    d = np.linalg.norm(box_center(r.box) - last) / diag
                    score = r.confidence * np.exp(-0.5 * (d / self.p.motion_sigma) ** 2)
                    candidates.append(r.box)
                    if score > best_score:
                        best_box, best_conf, best_score = r.box, r.confidence, score
        if best_conf >= self.p.update_threshold:
            self.local.update(frame, best_box)
        self.box, self.confidence, self.previous = np.asarray(best_box), best_conf, frame
        return {"box": self.box.copy(), "confidence": best_conf, "global_search": bool(fired and attention is not None),
                "candidates": candidates, "attention": attention}
