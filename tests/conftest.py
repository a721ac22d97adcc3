"""Fixtures every test can take; the helpers tests import live in helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `from helpers import ...` in every test file

from helpers import SEQUENCES  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: random inputs the same on every run."""
    return np.random.default_rng(0)


@pytest.fixture
def sequences_dir() -> Path:
    """The shared real OTB-layout sequences (skips the test when ../shared is not there)."""
    if not SEQUENCES.is_dir():
        pytest.skip(f"shared sequences not found at {SEQUENCES}")
    return SEQUENCES
