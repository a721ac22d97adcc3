"""How sure a benchmark score is: a percentile bootstrap over sequences (the unit that varies:
a tracker's decisions on one video are knife-edge, so a few sequences leave wide intervals) for
one tracker's mean and for the paired difference of two trackers on the same sequences. Pure
numpy, seeded: the same numbers give the same interval on every machine."""

from __future__ import annotations

from typing import Sequence

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95
SEED = 0


def _arrays(values: Sequence[float], weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Values and weights as float arrays of one length (weights default to 1), without the
    sequences of weight 0 (no scored frame: not a sample)."""
    v = np.asarray(values, np.float64).ravel()
    w = np.ones_like(v) if weights is None else np.asarray(weights, np.float64).ravel()
    if v.shape != w.shape:
        raise ValueError(f"{len(v)} values but {len(w)} weights")
    if len(v) == 0:
        raise ValueError("no sequence to average")
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("weights must be finite, >= 0, and not all 0")
    keep = w > 0
    return v[keep], w[keep]


def weighted_mean(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The mean of per-sequence values (weighted, e.g. by frames, for scores pooled over frames)."""
    v, w = _arrays(values, weights)
    return float(np.sum(v * w) / np.sum(w))


def bootstrap_interval(values: Sequence[float], weights: Sequence[float] | None = None,
                       resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the (weighted) mean: sequences drawn with replacement."""
    if resamples < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"resamples {resamples} must be >= 1 and level {level} in (0, 1)")
    v, w = _arrays(values, weights)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // len(v))  # bounded memory on benchmarks of many sequences
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, len(v), (min(chunk, resamples - start), len(v)))
        means[start:start + len(idx)] = np.sum(v[idx] * w[idx], axis=1) / np.sum(w[idx], axis=1)
    tail = (1.0 - level) / 2
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return float(lo), float(hi)


def paired_difference(other: Sequence[float], baseline: Sequence[float], weights: Sequence[float] | None = None,
                      resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED) -> dict[str, object]:
    """Mean of `other` minus `baseline` on the same sequences (in the same order), with the
    bootstrap interval of that difference (the same sequences drawn for both: paired)."""
    a, b = np.asarray(other, np.float64).ravel(), np.asarray(baseline, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired difference needs the same sequences: {len(a)} values against {len(b)}")
    diff = a - b
    lo, hi = bootstrap_interval(diff, weights, resamples, level, seed)
    return {"difference": weighted_mean(diff, weights), "interval": [lo, hi], "sequences": int(len(diff))}


__all__ = ["LEVEL", "RESAMPLES", "SEED", "bootstrap_interval", "paired_difference", "weighted_mean"]
