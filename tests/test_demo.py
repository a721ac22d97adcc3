"""The quick-start command writes one map and one overlay per frame, in the release's naming."""

from __future__ import annotations

import cv2
import numpy as np

from tanet_jax import demo
from tanet_jax.data.synthetic import SYNTHETIC_PRESETS
from tanet_jax.visualize import map_to_uint8, write_png_atomic


def test_demo_writes_maps_and_overlays(tmp_path):
    out = tmp_path / "demo"
    assert demo.main(["--out", str(out), "--preset", "tiny"]) == 0
    spec = SYNTHETIC_PRESETS["tiny"]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{j}_attentionMap.png" for j in range(1, spec.num_frames - 1)]
                           + [f"{j}_overlay.png" for j in range(1, spec.num_frames - 1)])
    grey = cv2.imread(str(out / "1_attentionMap.png"), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (128, 128) and grey.dtype == np.uint8
    overlay = cv2.imread(str(out / "1_overlay.png"))
    assert overlay.shape == (spec.height, spec.width, 3)


def test_png_writes_are_atomic_and_exact(tmp_path):
    m = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    path = tmp_path / "m.png"
    write_png_atomic(path, map_to_uint8(m))
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, np.rint(m * 255).astype(np.uint8))
