"""The several-starts protocol behind the project's tracking tables: each sequence is tracked from
its annotated first box (start 0) and from N-1 seeded jitters of it, and scored as the mean over
starts, because one start of a correlation-filter tracker is knife-edge (tiny float differences
between machines flip its decisions). `python -m tanet_jax.evaluate --starts N` and the bench
scripts (experiments/bench/tracker_sweep.py) use this one definition."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from tanet_jax.geometry import jitter_box

START_MARK = "~start"  # result name of a jittered start: "<sequence>~start2"
JITTER = 0.04  # the largest move of a jittered start's centre and size, as a fraction of the box size


def run_name(name: str, start: int) -> str:
    """The result name of one start: the sequence's own name for start 0, '<name>~start<j>' after."""
    return name if start == 0 else f"{name}{START_MARK}{start}"


def sequence_of(run: str) -> str:
    """The sequence a result name belongs to (inverse of run_name)."""
    return run.split(START_MARK)[0]


def start_box(box: Sequence[float], start: int, jitter: float = JITTER) -> np.ndarray:
    """The first box of one start: the annotation for start 0, a seeded jitter of it after."""
    return jitter_box(box, start, jitter)


def mean_over_starts(values: Mapping[str, float]) -> dict[str, float]:
    """Per-run values ('seq', 'seq~start1', ...) -> each sequence's mean over its starts."""
    groups: dict[str, list[float]] = {}
    for key, value in values.items():
        groups.setdefault(sequence_of(key), []).append(value)
    return {k: float(np.mean(v)) for k, v in groups.items()}


__all__ = ["JITTER", "START_MARK", "mean_over_starts", "run_name", "sequence_of", "start_box"]
