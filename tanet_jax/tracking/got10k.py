"""The joint tracker as a got10k-toolkit tracker, so `got10k.experiments` runs it unchanged.
Needs the toolkit: `pip install got10k`."""

from __future__ import annotations

import numpy as np
from got10k.trackers import Tracker

from tanet_jax.tracking.attention import AttentionProvider, NoAttention
from tanet_jax.tracking.cf import CFParams, CorrelationFilterTracker
from tanet_jax.tracking.joint import JointParams, JointTracker


class JointSearchTracker(Tracker):
    """init(image, box) / update(image) -> box on PIL images (RGB), as the toolkit calls them."""

    def __init__(self, attention: AttentionProvider | None = None, name: str | None = None,
                 cf: CFParams = CFParams(), joint: JointParams = JointParams()) -> None:
        attention = attention or NoAttention()
        super().__init__(name or f"JointSearch-{attention.name.split()[0]}", is_deterministic=True)
        self.attention, self.cf, self.joint = attention, cf, joint
        self.tracker: JointTracker | None = None

    @staticmethod
    def _bgr(image) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])

    def init(self, image, box) -> None:
        self.tracker = JointTracker(CorrelationFilterTracker(self.cf), self.attention, self.joint)
        self.tracker.initialize(self._bgr(image), np.asarray(box, np.float64))

    def update(self, image) -> np.ndarray:
        return self.tracker.track(self._bgr(image))["box"]
