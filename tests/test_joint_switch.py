"""The joint tracker's map trust: a map that agreed with confident tracking may correct the local
tracker when it clearly disagrees; a map that never agreed cannot, however good its candidate looks."""

from __future__ import annotations

import numpy as np

from tanet_jax.tracking.joint import JointParams, JointTracker
from tanet_jax.tracking.protocol import SearchResult

SIZE = np.array([10.0, 10.0])
A, B, C = np.array([25.0, 25.0]), np.array([45.0, 45.0]), np.array([45.0, 25.0])


class ScriptedLocal:
    """A local tracker that stays where it is asked to look; its confidence is 1 near `target`."""

    def __init__(self) -> None:
        self.target, self.elsewhere = A, 0.7

    def initialize(self, frame, box) -> None:
        pass

    def search(self, frame, center, size) -> SearchResult:
        c = np.asarray(center, float)
        conf = 1.0 if np.linalg.norm(c - self.target) < 3 else self.elsewhere
        return SearchResult(np.concatenate([c - SIZE / 2, SIZE]), conf)

    def update(self, frame, box) -> None:
        pass


class BlobMap:
    """A 100x100 map with one blob at position(index)."""

    name = "scripted"

    def __init__(self, position) -> None:
        self.position, self.calls = position, []

    def start(self, frame, box) -> None:
        pass

    def __call__(self, index, frame, previous) -> np.ndarray:
        self.calls.append(index)
        m = np.zeros((100, 100), np.float32)
        x, y = self.position(index).astype(int)
        m[y - 5 : y + 5, x - 5 : x + 5] = 1.0
        return m


def run(local: ScriptedLocal, attention: BlobMap, moves_at: int, frames: int = 25) -> list[np.ndarray]:
    params = JointParams(every=5, trust_contrast=0.2, trust_checks=2, trust_level=0.9)
    tracker = JointTracker(local, attention, params)
    frame = np.zeros((100, 100, 3), np.uint8)
    tracker.initialize(frame, np.concatenate([A - SIZE / 2, SIZE]))
    centres = []
    for i in range(1, frames):
        if i == moves_at:
            local.target = B  # the target moves to B; the local tracker, unaware, stays at A
        out = tracker.track(frame)
        centres.append(out["box"][:2] + out["box"][2:] / 2)
    return centres


def test_a_map_that_agreed_corrects_the_local_tracker_on_a_periodic_check():
    local = ScriptedLocal()
    attention = BlobMap(lambda i: A if i < 11 else B)  # agrees at checks 5 and 10, then shows B
    centres = run(local, attention, moves_at=11)
    assert attention.calls == [5, 10, 15, 20]  # only periodic checks: the confidence never fell
    np.testing.assert_allclose(centres[13], A)  # frame 14: not yet checked
    np.testing.assert_allclose(centres[14], B)  # frame 15: the trusted map's candidate wins
    np.testing.assert_allclose(centres[-1], B)


def test_a_map_that_never_agreed_is_not_followed():
    local = ScriptedLocal()
    local.target = C  # its candidate at C scores higher than the local result at A on every frame
    attention = BlobMap(lambda i: C)  # but the map never agreed with the tracker where it was confident
    centres = run(local, attention, moves_at=0)
    assert attention.calls == [5, 10, 15, 20]
    for c in centres:
        np.testing.assert_allclose(c, A)


def test_a_map_that_disagreed_is_not_used_even_when_the_confidence_falls():
    local = ScriptedLocal()
    attention = BlobMap(lambda i: C)  # disagrees at every check while the tracker is confident at A
    params = JointParams(every=5, trust_checks=2, distrust_level=0.75)
    tracker = JointTracker(local, attention, params)
    frame = np.zeros((100, 100, 3), np.uint8)
    tracker.initialize(frame, np.concatenate([A - SIZE / 2, SIZE]))
    for _ in range(11):
        tracker.track(frame)
    assert tracker.map_distrusted()
    local.target = C  # the target is now at C: the local result's confidence falls to 0.7 of what it was
    tracker.confidence = 0.1  # as after a frame the tracker lost
    out = tracker.track(frame)
    assert not out["global_search"] and 12 not in attention.calls
    np.testing.assert_allclose(out["box"][:2] + out["box"][2:] / 2, A)


def test_without_periodic_checks_the_map_is_not_computed_while_confident():
    attention = BlobMap(lambda i: B)
    tracker = JointTracker(ScriptedLocal(), attention, JointParams(every=0))
    frame = np.zeros((100, 100, 3), np.uint8)
    tracker.initialize(frame, np.concatenate([A - SIZE / 2, SIZE]))
    for _ in range(12):
        tracker.track(frame)
    assert attention.calls == []


class SizedLocal(ScriptedLocal):
    """A scripted local tracker that keeps the size it is given (as the real one does between frames)."""

    def search(self, frame, center, size) -> SearchResult:
        result = super().search(frame, center, size)
        return SearchResult(np.concatenate([result.box[:2] + SIZE / 2 - np.asarray(size) / 2, size]),
                            result.confidence)


class OutliningMap(BlobMap):
    """A map whose blob is the target's whole extent (side `side`), as TANet's or the ground truth's."""

    outlines = True

    def __init__(self, position, side: int) -> None:
        super().__init__(position)
        self.side = side

    def __call__(self, index, frame, previous) -> np.ndarray:
        self.calls.append(index)
        m = np.zeros((100, 100), np.float32)
        x, y = self.position(index).astype(int)
        h = self.side // 2
        m[y - h : y + h, x - h : x + h] = 1.0
        return m


def boxes_over_time(attention: BlobMap, frames: int = 21, **placing) -> list[np.ndarray]:
    """Boxes of frames 1..frames-1, checked every 5 frames, trusted after 2 agreeing checks."""
    params = JointParams(every=5, trust_checks=2, trust_level=0.9, **placing)
    tracker = JointTracker(SizedLocal(), attention, params)
    frame = np.zeros((100, 100, 3), np.uint8)
    tracker.initialize(frame, np.concatenate([A - SIZE / 2, SIZE]))
    return [tracker.track(frame)["box"] for _ in range(1, frames)]


def sizes_over_time(attention: BlobMap, size_rate: float) -> list[np.ndarray]:
    return [b[2:] for b in boxes_over_time(attention, size_rate=size_rate)]


def test_a_trusted_outlining_map_moves_the_size_gradually_towards_its_extent():
    sizes = sizes_over_time(OutliningMap(lambda i: A, side=16), size_rate=0.5)
    np.testing.assert_allclose(sizes[13], SIZE)  # frame 14: trust was earned at the checks of frames 5, 10
    np.testing.assert_allclose(sizes[14], SIZE * 1.6**0.5)  # frame 15: half-way (in log) to 16
    np.testing.assert_allclose(sizes[19], SIZE * 1.6**0.75)  # frame 20: half of what is left
    np.testing.assert_allclose(sizes[18], sizes[14])  # only on checks


def test_the_size_is_kept_without_outlines_or_when_the_region_is_not_this_targets():
    plain = OutliningMap(lambda i: A, side=16)
    plain.outlines = False  # a map of centres (as the correlation map): its blob's extent says nothing
    assert all(np.allclose(s, SIZE) for s in sizes_over_time(plain, size_rate=0.5))
    huge = OutliningMap(lambda i: A, side=30)  # three times the box: another object's region, not ours
    assert all(np.allclose(s, SIZE) for s in sizes_over_time(huge, size_rate=0.5))
    off = OutliningMap(lambda i: A, side=16)
    assert all(np.allclose(s, SIZE) for s in sizes_over_time(off, size_rate=0.0))


class LookalikeLocal(ScriptedLocal):
    """The first frame's model prefers a look-alike at C; the recent appearance (colour) is the target's at A."""

    def search(self, frame, center, size) -> SearchResult:
        c = np.asarray(center, float)
        at_c = np.linalg.norm(c - C) < 3
        return SearchResult(np.concatenate([c - SIZE / 2, SIZE]), 1.0 if at_c else 0.2, 0.4 if at_c else 0.8)


def centre_after_global_search(local: ScriptedLocal, attention: BlobMap, params: JointParams) -> np.ndarray:
    """The box's centre after one frame tracked from A when global search fires."""
    tracker = JointTracker(local, attention, params)
    frame = np.zeros((100, 100, 3), np.uint8)
    tracker.initialize(frame, np.concatenate([A - SIZE / 2, SIZE]))
    tracker.confidence = 0.1  # as after a frame of low confidence: global search fires
    out = tracker.track(frame)
    assert out["global_search"]
    return out["box"][:2] + out["box"][2:] / 2


def test_a_lookalike_of_the_first_frame_does_not_win_over_the_targets_recent_appearance():
    outcome = {margin: centre_after_global_search(LookalikeLocal(), BlobMap(lambda i: C),
                                                  JointParams(every=0, recent_margin=margin))
               for margin in (0.0, 0.9)}
    np.testing.assert_allclose(outcome[0.0], C)  # the first frame's model alone follows the look-alike
    np.testing.assert_allclose(outcome[0.9], A)  # its colours say it is not the target seen lately


class FaintMap(BlobMap):
    """A map whose strongest place is weak (`level` < 1): it is not sure of anything."""

    def __init__(self, position, level: float) -> None:
        super().__init__(position)
        self.level = level

    def __call__(self, index, frame, previous) -> np.ndarray:
        return super().__call__(index, frame, previous) * self.level


class EqualColourLookalike(LookalikeLocal):
    """A look-alike at C that the first frame's model and the colours both prefer (person11, frame 143)."""

    def search(self, frame, center, size) -> SearchResult:
        r = super().search(frame, center, size)
        return SearchResult(r.box, r.confidence, 0.8)


def test_a_faint_map_cannot_lead_the_tracker_to_a_lookalike():
    outcome = {floor: centre_after_global_search(EqualColourLookalike(), FaintMap(lambda i: C, level=0.19),
                                                 JointParams(every=0, map_floor=floor))
               for floor in (0.0, 0.25)}
    np.testing.assert_allclose(outcome[0.0], C, atol=1e-3)  # everything prefers C; the map's 0.19 there is enough
    np.testing.assert_allclose(outcome[0.25], A)  # a map under the floor is no evidence: stay
    # a map that is sure (1.0 at C) still leads the tracker there with the floor on
    sure = centre_after_global_search(EqualColourLookalike(), BlobMap(lambda i: C),
                                      JointParams(every=0, map_floor=0.25))
    np.testing.assert_allclose(sure, C, atol=1e-3)


def centres_over_time(attention: BlobMap, centre_rate: float) -> list[np.ndarray]:
    return [b[:2] + b[2:] / 2 for b in boxes_over_time(attention, size_rate=0.0, centre_rate=centre_rate)]


def test_a_trusted_outlining_map_moves_the_centre_gradually_towards_its_region():
    offset = np.array([3.0, 0.0])  # the region is centred 3 px right of the tracked box
    centres = centres_over_time(OutliningMap(lambda i: A + offset, side=10), centre_rate=0.5)
    np.testing.assert_allclose(centres[13], A)  # frame 14: trust was earned at the checks of frames 5, 10
    np.testing.assert_allclose(centres[14], A + 0.5 * offset)  # frame 15: half-way to the region's centre
    np.testing.assert_allclose(centres[18], centres[14])  # only on checks
    np.testing.assert_allclose(centres[19], A + 0.75 * offset)  # frame 20: half of what is left
    kept = centres_over_time(OutliningMap(lambda i: A + offset, side=10), centre_rate=0.0)
    assert all(np.allclose(c, A) for c in kept)
    plain = OutliningMap(lambda i: A + offset, side=10)
    plain.outlines = False  # a map of centres only: not used to place the box
    assert all(np.allclose(c, A) for c in centres_over_time(plain, centre_rate=0.5))


class BroadMap(BlobMap):
    """A map high over a 60x60 part of the frame around A: it 'agrees' wherever the tracker is."""

    def __call__(self, index, frame, previous) -> np.ndarray:
        self.calls.append(index)
        m = np.zeros((100, 100), np.float32)
        m[:60, :60] = 1.0
        return m


def test_only_a_specific_map_earns_trust():
    frame = np.zeros((100, 100, 3), np.uint8)
    state = {}
    for name, attention in (("broad", BroadMap(lambda i: A)), ("specific", BlobMap(lambda i: A))):
        for spread in (0.0, 3.0):
            params = JointParams(every=5, trust_checks=2, agree_spread=spread)
            tracker = JointTracker(ScriptedLocal(), attention, params)
            tracker.initialize(frame, np.concatenate([A - SIZE / 2, SIZE]))
            for _ in range(11):
                tracker.track(frame)
            state[name, spread] = (tracker.map_trusted(), tracker.map_distrusted())
    assert state["broad", 0.0] == (True, False)  # 36 box areas at its peak, and still 'agreeing'
    assert state["broad", 3.0] == (False, True)  # not evidence: never trusted, then not used
    assert state["specific", 0.0] == state["specific", 3.0] == (True, False)  # one box area: trusted


class TwoBlobMap(BlobMap):
    """The map is sure of B (1.0) and less of a look-alike at C (0.8)."""

    def __call__(self, index, frame, previous) -> np.ndarray:
        self.calls.append(index)
        m = np.zeros((100, 100), np.float32)
        for (x, y), level in ((B, 1.0), (C, 0.8)):
            m[int(y) - 5 : int(y) + 5, int(x) - 5 : int(x) + 5] = level
        return m


class NearTieLocal(ScriptedLocal):
    """The first frame's model prefers the look-alike at C a little (1.0) over the target at B (0.9);
    the colours cannot tell them apart; the local result at A is lost (0.2)."""

    def search(self, frame, center, size) -> SearchResult:
        c = np.asarray(center, float)
        conf = 1.0 if np.linalg.norm(c - C) < 3 else 0.9 if np.linalg.norm(c - B) < 3 else 0.2
        return SearchResult(np.concatenate([c - SIZE / 2, SIZE]), conf, 0.8)


def test_of_two_candidates_that_pass_the_map_breaks_a_near_tie():
    """person11, frame 123: the filter preferred a look-alike (0.231 vs 0.210) that the map did not
    (0.81 vs 1.00); ranked by the filter alone the tracker followed the look-alike."""
    outcome = {w: centre_after_global_search(NearTieLocal(), TwoBlobMap(lambda i: B), JointParams(every=0, map_weight=w))
               for w in (0.0, 1.0)}
    np.testing.assert_allclose(outcome[0.0], C, atol=1e-3)  # the filter's favourite
    np.testing.assert_allclose(outcome[1.0], B, atol=1e-3)  # the map's: 0.9 x 1.0 over 1.0 x 0.8
