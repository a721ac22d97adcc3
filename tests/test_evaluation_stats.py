"""tanet_jax.evaluation.stats and .starts: the bootstrap intervals and the several-starts protocol
that evaluate and the bench scripts share, on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from tanet_jax.evaluation import starts, stats


def test_identical_trackers_differ_by_zero_with_interval_zero():
    a = np.random.default_rng(0).uniform(0.2, 0.8, 12)
    d = stats.paired_difference(a, a.copy())
    assert d == {"difference": 0.0, "interval": [0.0, 0.0], "sequences": 12}


def test_a_constant_shift_is_that_shift_whatever_the_spread_of_sequences():
    base = np.random.default_rng(1).uniform(0.0, 0.6, 9)  # sequences far apart: the unpaired interval is wide
    d = stats.paired_difference(base + 0.25, base)
    assert d["difference"] == pytest.approx(0.25) and d["interval"] == pytest.approx([0.25, 0.25])
    lo, hi = stats.bootstrap_interval(base + 0.25)
    assert hi - lo > 0.1  # the same shift, unpaired, is not resolved as sharply


def test_interval_of_two_sequences_is_their_range_and_is_seeded():
    # resampled means of (0, 1) are 0, 0.5, 1 with chances 1/4, 1/2, 1/4: the 95% interval is [0, 1]
    assert stats.bootstrap_interval([0.0, 1.0]) == (0.0, 1.0)
    assert stats.bootstrap_interval([0.5]) == (0.5, 0.5)  # one sequence: no spread to draw
    values = np.random.default_rng(2).uniform(0, 1, 20)
    assert stats.bootstrap_interval(values) == stats.bootstrap_interval(values)  # the same on every call
    assert stats.bootstrap_interval(values, seed=1) != stats.bootstrap_interval(values)
    lo, hi = stats.bootstrap_interval(values)
    assert lo < np.mean(values) < hi and stats.bootstrap_interval(values, level=0.5)[0] > lo


def test_weights_pool_frames_and_weight_zero_drops_a_sequence():
    assert stats.weighted_mean([0.2, 0.8], [1, 3]) == pytest.approx(0.65)  # pooled over 4 frames
    assert stats.weighted_mean([0.4, float("nan")], [5, 0]) == pytest.approx(0.4)  # no scored frame
    assert stats.bootstrap_interval([0.3, 0.9], [1, 0]) == (0.3, 0.3)
    with pytest.raises(ValueError, match="2 values but 1 weights"):
        stats.weighted_mean([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="same sequences"):
        stats.paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="no sequence"):
        stats.bootstrap_interval([])


def test_starts_are_named_seeded_and_averaged_per_sequence():
    box = np.array([10.0, 20.0, 40.0, 30.0])
    np.testing.assert_array_equal(starts.start_box(box, 0), box)  # start 0: the annotation itself
    np.testing.assert_array_equal(starts.start_box(box, 2), starts.start_box(box, 2))
    assert not np.allclose(starts.start_box(box, 1), starts.start_box(box, 2))
    assert np.all(np.abs(starts.start_box(box, 1)[2:] / box[2:] - 1) <= starts.JITTER)
    assert [starts.run_name("Car", j) for j in range(3)] == ["Car", "Car~start1", "Car~start2"]
    assert starts.sequence_of("r/Car~start2") == "r/Car" and starts.sequence_of("Car") == "Car"
    assert starts.mean_over_starts({"a": 0.2, "a~start1": 0.4, "b": 0.5}) == pytest.approx({"a": 0.3, "b": 0.5})
