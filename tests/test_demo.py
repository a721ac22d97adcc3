"""The quick-start command writes one map and one overlay per frame, in the release's naming."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

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


@pytest.mark.parametrize("case", ["empty_dir", "file", "missing", "training_workdir"])
def test_checkpoint_that_is_not_a_model_is_one_line(tmp_path, capsys, case):
    """--checkpoint naming anything but a generator checkpoint: one line, exit 2, nothing written."""
    target = tmp_path / "model"
    if case == "empty_dir":
        target.mkdir()
    elif case == "file":
        target.write_bytes(b"PK not a model")
    elif case == "training_workdir":
        (target / "generator" / "meta").mkdir(parents=True)
    out = tmp_path / "out"
    assert demo.main(["--checkpoint", str(target), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(target) in err
    if case == "training_workdir":
        assert str(target / "generator") in err
    assert not out.exists()


def test_damaged_checkpoint_is_one_line(tmp_path, capsys):
    """meta/ and variables/ present but unreadable: a CheckpointError message, not an orbax traceback."""
    target = tmp_path / "model"
    (target / "meta").mkdir(parents=True)
    (target / "variables").mkdir()
    (target / "meta" / "metadata").write_text("{ not json")
    assert demo.main(["--checkpoint", str(target), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {target}") and not (tmp_path / "out").exists()


def test_bad_out_and_video_are_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert demo.main(["--out", str(afile)]) == 2
    assert "not a directory" in capsys.readouterr().err
    n = SYNTHETIC_PRESETS["tiny"].num_videos
    assert demo.main(["--video", str(n), "--out", str(tmp_path / "o")]) == 2
    assert f"0..{n - 1}" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_help_lists_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag, default in (("--out", "demo_out"), ("--preset", "small"), ("--data", "tiny"), ("--seed", "0")):
        assert re.search(rf"{flag}\b.*?\(default: {default}\)", text, re.S), flag
    assert "fresh init" in text
