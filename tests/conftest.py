"""Shared helpers: error measures and where ../shared lives."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(os.environ.get("TANET_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
SEQUENCES = SHARED / "data" / "sequences"


def assert_parity(ours, ref, rel: float = 1e-5, max_abs: float = 1e-4) -> None:
    """The issue's parity bound: relative L2 < rel and max abs error < max_abs."""
    ours = np.asarray(ours, np.float64)
    ref = np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    err = np.linalg.norm(ours - ref) / max(np.linalg.norm(ref), 1e-30)
    worst = np.abs(ours - ref).max()
    assert err < rel and worst < max_abs, f"relative L2 {err:.3g}, max abs {worst:.3g}"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def sequences_dir() -> Path:
    if not SEQUENCES.is_dir():
        pytest.skip(f"shared sequences not found at {SEQUENCES}")
    return SEQUENCES
