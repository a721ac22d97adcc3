"""Each datasets/ folder exposes its TFDS builder under the conventional name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tanet_jax.data.builders import BUILDERS

ROOT = Path(__file__).resolve().parents[1] / "datasets"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_folder_builder(name):
    path = ROOT / name / f"{name}_dataset_builder.py"
    spec = importlib.util.spec_from_file_location(f"{name}_dataset_builder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.Builder is BUILDERS[name] and module.Builder.name == name
    assert (ROOT / name / "README.md").read_text().count(f"python -m tanet_jax.data build {name}") == 1
