"""The joint tracker as a got10k-toolkit tracker, so `got10k.experiments` runs it unchanged.
Built by tanet_jax.tracking.build.make_tracker from the same config as `track` and `evaluate`.
Needs the toolkit: `pip install got10k`."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from got10k.trackers import Tracker

from tanet_jax.tracking.build import make_tracker
from tanet_jax.tracking.joint import JointTracker
from tanet_jax.tracking.protocol import BlackBoxTracker


class JointSearchTracker(Tracker):
    """init(image, box) / update(image) -> box on PIL images (RGB), as the toolkit calls them.

    `config` is a tracker config (None: build.default_config(); e.g. from
    tanet_jax.evaluation.tracker_spec.load_config(FILE)); `attention` one of build.ATTENTIONS
    except groundtruth (the toolkit gives a tracker no annotations); `predictor` the TANet
    predictor for attention 'tanet'; `local` a protocol.BlackBoxTracker in place of the local
    tracker `local.kind` names (another got10k tracker: blackbox.Got10kStyleTracker(it)), so the
    toolkit scores that tracker plus global re-detection."""

    def __init__(self, config: Mapping[str, Any] | None = None, attention: str = "none", predictor: Any = None,
                 name: str | None = None, local: BlackBoxTracker | None = None) -> None:
        if attention == "groundtruth":
            raise ValueError("attention 'groundtruth' needs annotations, which the got10k toolkit never gives a tracker")
        super().__init__(name or f"JointSearch-{attention}", is_deterministic=True)
        self.config, self.attention, self.predictor, self.local = config, attention, predictor, local
        make_tracker(config, attention, predictor=predictor, local=local)  # a bad config fails here, not mid-run
        self.tracker: JointTracker | None = None

    @staticmethod
    def _bgr(image) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])

    def init(self, image, box) -> None:
        self.tracker = make_tracker(self.config, self.attention, predictor=self.predictor, local=self.local)
        self.tracker.initialize(self._bgr(image), np.asarray(box, np.float64))

    def update(self, image) -> np.ndarray:
        return self.tracker.track(self._bgr(image))["box"]
