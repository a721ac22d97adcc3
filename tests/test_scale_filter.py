"""The DSST scale filter: it measures a known zoom, and the tracker's box follows a growing target."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tanet_jax.tracking.cf import CFParams, CorrelationFilterTracker
from tanet_jax.tracking.scale import ScaleFilter

H, W = 180, 240
CENTER = np.array([120.0, 90.0])


def scene() -> np.ndarray:
    """A smooth random background and a textured 40x30 target at CENTER."""
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 255, (H // 8, W // 8, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    target = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (40, 30), interpolation=cv2.INTER_NEAREST)
    img[75:105, 100:140] = target
    return img


def zoomed(img: np.ndarray, factor: float) -> np.ndarray:
    """The scene magnified by `factor` about the target's centre."""
    m = cv2.getRotationMatrix2D((float(CENTER[0]), float(CENTER[1])), 0.0, factor)
    return cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.08])
def test_scale_filter_measures_a_known_zoom(factor):
    img, size = scene(), np.array([40.0, 30.0])
    f = ScaleFilter()
    f.learn(img, CENTER, size, rate=1.0)
    estimate = f.estimate(zoomed(img, factor), CENTER, size)
    assert abs(np.log(estimate / factor)) < np.log(1.02), (factor, estimate)  # within one pyramid step


def test_tracker_box_follows_a_growing_target_with_the_scale_filter():
    img = scene()
    frames = [zoomed(img, 1.02**i) for i in range(25)]  # 1.61x over 24 frames
    truth = 40 * 1.02**24
    widths = {}
    for use in (False, True):
        t = CorrelationFilterTracker(CFParams(scale_filter=use, scales=(1.0,)))  # the scale filter alone sizes
        t.initialize(frames[0], [100, 75, 40, 30])
        box = np.array([100.0, 75, 40, 30])
        for frame in frames[1:]:
            box = t.search(frame, box[:2] + box[2:] / 2, box[2:]).box
            t.update(frame, box)
        widths[use] = box[2]
        assert np.linalg.norm(box[:2] + box[2:] / 2 - CENTER) < 5
    assert abs(widths[True] / truth - 1) < 0.1, widths
    assert widths[False] == pytest.approx(40.0), widths  # a single-scale search never changes the size


def test_scale_filter_rejects_bad_settings():
    with pytest.raises(ValueError, match="odd"):
        ScaleFilter(count=16)
    with pytest.raises(ValueError, match="multiple of cell"):
        ScaleFilter(side=30, cell=4)
