"""python -m tanet_jax.predict: maps for a whole dataset, release naming, resumable, robust."""

from __future__ import annotations


import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tanet_jax import predict
from tanet_jax.weights import save_model
from tanet_jax.models.model_config import get_preset
from tanet_jax.inference import AttentionPredictor
from tanet_jax.models import Generator
from tanet_jax.preprocess import preprocess_frame, preprocess_target
from tanet_jax.visualize import map_to_uint8

TINY = get_preset("tiny")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    s = TINY.input_size
    img = jnp.zeros((1, s, s, 3))
    variables = jax.jit(Generator(TINY).init)(jax.random.key(2), img, img, jnp.zeros((1, 2, s, s, 3)))
    path = tmp_path_factory.mktemp("ckpt") / "gen"
    save_model(path, variables, kind="generator", config=TINY)
    return path


def otb_folder(root, rng, names=("Alpha", "Beta"), frames=6):
    for name in names:
        img = root / name / "img"
        img.mkdir(parents=True)
        for i in range(frames):
            cv2.imwrite(str(img / f"{i + 1:04d}.jpg"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
        (root / name / "groundtruth_rect.txt").write_text("\n".join("10,12,20,15" for _ in range(frames)))
    return root


def test_maps_for_every_frame_with_release_names(tmp_path, checkpoint, rng):
    root = otb_folder(tmp_path / "otb", rng)
    out = tmp_path / "maps"
    assert predict.main(["--root", str(root), "--out", str(out), "--checkpoint", str(checkpoint),
                         "--batch-size", "3"]) == 0
    for name in ("Alpha", "Beta"):
        assert sorted(p.name for p in (out / name).iterdir()) == sorted(f"{j}_attentionMap.png" for j in range(1, 5))
    # Map 2 of Alpha equals the predictor's on the release preprocessing.
    frames = [cv2.imread(str(root / "Alpha" / "img" / f"{i + 1:04d}.jpg")) for i in range(6)]
    p = AttentionPredictor.from_checkpoint(checkpoint)
    s = TINY.input_size
    f = [preprocess_frame(x, s) for x in frames]
    expected = p(f[2][None], preprocess_target(frames[0], [10, 12, 20, 15], s)[None], np.stack(f[1:4])[None])[0]
    got = cv2.imread(str(out / "Alpha" / "2_attentionMap.png"), cv2.IMREAD_UNCHANGED)
    assert np.abs(got.astype(int) - map_to_uint8(np.asarray(expected)).astype(int)).max() <= 1


def test_resume_keeps_existing_maps_and_one_bad_video_loses_nothing(tmp_path, checkpoint, rng, capsys):
    root = otb_folder(tmp_path / "otb", rng, ("Alpha", "Beta", "Gamma", "Delta"))
    out = tmp_path / "maps"
    (out / "Alpha").mkdir(parents=True)
    marker = np.full((5, 5), 7, np.uint8)
    cv2.imwrite(str(out / "Alpha" / "1_attentionMap.png"), marker)  # an earlier run's map
    (root / "Beta" / "img" / "0004.jpg").write_bytes(b"broken")
    truncated = root / "Delta" / "img" / "0003.jpg"
    truncated.write_bytes(truncated.read_bytes()[:400])  # decodes (grey below), but is cut short
    code = predict.main(["--root", str(root), "--out", str(out), "--checkpoint", str(checkpoint)])
    assert code == 2  # Beta and Delta failed
    err = capsys.readouterr().err
    assert f"failed: Beta: {root / 'Beta' / 'img' / '0004.jpg'}: unreadable image" in err
    assert f"failed: Delta: {truncated}: truncated JPEG" in err
    np.testing.assert_array_equal(cv2.imread(str(out / "Alpha" / "1_attentionMap.png"), cv2.IMREAD_UNCHANGED), marker)
    assert len(list((out / "Alpha").iterdir())) == 4 and len(list((out / "Gamma").iterdir())) == 4


def test_missing_checkpoint_is_a_clear_error(tmp_path, rng, capsys):
    root = otb_folder(tmp_path / "otb", rng, ("Alpha",))
    assert predict.main(["--root", str(root), "--out", str(tmp_path / "m"), "--checkpoint", str(tmp_path / "no")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


def test_no_model_is_used_unless_named(tmp_path, rng, capsys):
    root = otb_folder(tmp_path / "otb", rng, ("Alpha",))
    with pytest.raises(SystemExit) as e:
        predict.main(["--root", str(root), "--out", str(tmp_path / "m")])
    assert e.value.code == 2 and "--checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_tanet_attention_is_recorded_with_the_checkpoint_sha256(tmp_path, checkpoint, rng, capsys):
    import json

    from tanet_jax import evaluate, track
    from tanet_jax.evaluation.tracker_spec import checkpoint_sha256

    root = otb_folder(tmp_path / "otb", rng, ("Alpha",), frames=5)
    out = tmp_path / "res"
    code = evaluate.main(["--dataset", "otb", "--root", str(root), "--trackers", "joint", "--attention", "tanet",
                          "--checkpoint", str(checkpoint), "--every", "2", "--out", str(out), "--no-timelines"])
    assert code == 0
    entry = json.loads((out / "report.json").read_text())["trackers"]["joint-tanet"]
    assert entry["checkpoint_sha256"] == checkpoint_sha256(checkpoint) and str(checkpoint) in entry["attention_source"]
    assert f"sha256 {checkpoint_sha256(checkpoint)}" in capsys.readouterr().out
    assert track.main(["--sequence", str(root / "Alpha"), "--out", str(tmp_path / "b.txt"), "--attention", "tanet",
                       "--checkpoint", str(checkpoint)]) == 0
    assert f"tanet (TANet generator from {checkpoint}" in capsys.readouterr().out
