"""The colour-histogram model (Staple's per-pixel score) and its merge into the filter's response."""

from __future__ import annotations

import numpy as np
import pytest

from tanet_jax.geometry import region_inside
from tanet_jax.tracking.cf import CFParams, CorrelationFilterTracker
from tanet_jax.tracking.colour import ColourModel

W, PAD, CELL = 128, 2.0, 4


def patch_with_square(dy: int, dx: int, colour=(0.9, 0.1, 0.1), background=(0.1, 0.4, 0.8)) -> np.ndarray:
    """A W x W patch: a target-sized square of one colour, shifted by (dy, dx) pixels, on another."""
    p = np.empty((W, W, 3), np.float32)
    p[:] = background
    side = int(W / (1 + PAD))
    top = (W - side) // 2
    p[top + dy : top + dy + side, top + dx : top + dx + side] = colour
    return p


def test_colour_score_peaks_at_the_targets_shift_in_the_filters_layout():
    model = ColourModel(W, PAD, CELL)
    model.learn(patch_with_square(0, 0), np.ones((W, W), np.float32))
    n = W // CELL
    for dy, dx in [(0, 0), (8, -12), (-16, 4)]:
        score = model.respond(patch_with_square(dy, dx)[None])[0]
        assert score.shape == (n, n)
        # index (0, 0) is no shift and negative shifts wrap around, as in the filter's response
        assert score[(dy // CELL) % n, (dx // CELL) % n] == pytest.approx(score.max())
        assert score.max() > 0.95 and np.median(score) < 0.3


def test_pixels_outside_the_frame_are_not_learned():
    """A region half outside the frame: its border-replicated pixels must not become 'target'."""
    mask = region_inside(np.array([10.0, 50.0]), np.array([60.0, 60.0]), W, (200, 100))
    assert mask[:, : W // 3].sum() == 0 and mask[:, W // 2 :].all()  # x < 0 is outside: the left third
    model = ColourModel(W, PAD, CELL)
    patch = patch_with_square(0, 0)
    patch[:, : W // 2] = (0.2, 0.9, 0.2)  # the "replicated" colour fills the target's left half
    model.learn(patch, np.concatenate([np.zeros((W, W // 2)), np.ones((W, W // 2))], 1).astype(np.float32))
    green = ColourModel(W, PAD, CELL)
    green.hists = model.hists
    only_green = np.empty((1, W, W, 3), np.float32)
    only_green[:] = (0.2, 0.9, 0.2)
    assert green.respond(only_green).max() == 0.0  # never seen: no probability of being the target


def test_the_merged_response_follows_a_target_that_changes_shape():
    rng = np.random.default_rng(0)
    frames, boxes = [], []
    for t in range(30):
        f = (rng.uniform(0, 1, (160, 220, 3)) * 80 + 60).astype(np.uint8)  # grey clutter
        x, y = 40 + 3 * t, 50 + t
        w, h = 36 + int(10 * np.sin(t / 3)), 36 - int(8 * np.sin(t / 3))  # it changes its shape
        f[y : y + h, x : x + w] = (30, 30, 220)
        f[y + h // 3 : y + h // 2, x : x + w] = (240, 240, 40)  # a stripe that moves within it
        frames.append(f)
        boxes.append([x, y, w, h])
    results = {}
    for weight in (0.0, 0.3):
        tracker = CorrelationFilterTracker(CFParams(colour_weight=weight))
        tracker.initialize(frames[0], boxes[0])
        assert (tracker.colour is None) == (weight == 0)
        centres = []
        box = np.asarray(boxes[0], float)
        for f in frames[1:]:
            box = tracker.search(f, box[:2] + box[2:] / 2, box[2:]).box
            tracker.update(f, box)
            centres.append(box[:2] + box[2:] / 2)
        truth = np.asarray(boxes[1:], float)
        results[weight] = np.linalg.norm(np.asarray(centres) - (truth[:, :2] + truth[:, 2:] / 2), axis=1)
    assert results[0.3].max() < 8.0  # within two cells on every frame


def test_reliability_keeps_the_targets_colours_inside_the_support_and_drops_the_background():
    """A round target in its square box: the box's corners show background and leave the support
    (even after the mask grows by one cell)."""
    side = int(W / (1 + PAD))
    r = np.arange(W) + 0.5 - W / 2
    disc = (r[:, None] ** 2 + r[None, :] ** 2) <= (0.8 * side / 2) ** 2
    patch = np.empty((W, W, 3), np.float32)
    patch[:] = (0.1, 0.4, 0.8)
    patch[disc] = (0.9, 0.1, 0.1)
    model = ColourModel(W, PAD, CELL)
    model.learn(patch, np.ones((W, W), np.float32))
    tracker = CorrelationFilterTracker(CFParams(reliability=True))
    support = tracker.mask
    mask = np.asarray(model.reliability(patch, support))
    n = W // CELL
    assert set(np.unique(mask)) <= {0.0, 1.0} and (mask <= np.asarray(support)).all()
    assert mask[n // 2 - 2 : n // 2 + 2, n // 2 - 2 : n // 2 + 2].all()  # the centre stays
    inside = np.flatnonzero(np.asarray(support).any(0))
    lo, hi = inside[0], inside[-1]
    assert mask[lo, lo] == mask[lo, hi] == mask[hi, lo] == mask[hi, hi] == 0  # the corners go
    assert 0.5 < mask.sum() / np.asarray(support).sum() < 0.95
    # where too little of the support has the target's colours (here a colour never seen), all is kept
    plain = np.empty_like(patch)
    plain[:] = (0.2, 0.9, 0.2)
    assert (np.asarray(model.reliability(plain, support)) == np.asarray(support)).all()
