"""The Grain input pipeline: sample content, order, sharding, resume, and the training views."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tanet_jax.data.builders import build
from tanet_jax.data.pipeline import (
    Augment, TrainingWindows, VideoTable, box_mask, epoch_order, iterate_batches, make_loader, open_split,
)
from tanet_jax.data.synthetic import SYNTHETIC_PRESETS, make_video
from tanet_jax.data.views import training_views

SIZE = 128


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    build("synthetic_tracking", data_dir)
    return open_split("synthetic_tracking", str(data_dir), "train", "tiny")


def windows(split, batch=4, **kw):
    records, table = split
    return TrainingWindows(records, table, SIZE, batch, **kw)


def test_window_content_matches_the_video(split):
    w = windows(split, order="sequential")
    spec = SYNTHETIC_PRESETS["tiny"]
    sample_index = 11
    video_i, t = int(w.table.sample_video[sample_index]), int(w.table.sample_t[sample_index])
    sample = w.window(sample_index)
    video = make_video(spec, video_i)
    assert sample["frame_index"] == t and sample["video_index"] == video_i
    scale = np.array([SIZE / spec.width, SIZE / spec.height] * 2)
    for k in range(4):
        expected = cv2.resize(video["frames"][t - 1 + k], (SIZE, SIZE)).astype(int)
        assert np.abs(sample["frames"][k].astype(int) - expected).mean() < 4  # JPEG q95
        if video["absent"][t - 1 + k]:
            assert sample["absent"][k] and not sample["masks"][k].any() and np.isnan(sample["boxes"][k]).all()
        else:
            np.testing.assert_allclose(sample["boxes"][k], video["boxes"][t - 1 + k] * scale, rtol=1e-5)
            np.testing.assert_array_equal(sample["masks"][k], box_mask(sample["boxes"][k], SIZE, SIZE))
    assert sample["target"].shape == (SIZE, SIZE, 3)


def test_box_mask_is_the_truncated_clipped_box():
    m = box_mask(np.array([3.7, 2.2, 4.9, 3.1]), 10, 12)
    assert m.sum() == (5 - 2) * (8 - 3) and m[2:5, 3:8].all()
    assert box_mask(np.array([-5.0, 8.0, 10.0, 10.0]), 10, 12).sum() == 5 * 2
    assert box_mask(np.array([np.nan] * 4), 10, 12).sum() == 0


def test_absent_frames_have_zero_masks(split):
    w = windows(split, order="sequential")
    absent = 0
    for i in range(len(w.table)):
        s = w.window(i)
        for k in range(4):
            if s["absent"][k]:
                absent += 1
                assert s["masks"][k].sum() == 0
            else:
                assert s["masks"][k].sum() > 0
    assert absent > 0  # tiny has occlusion / out-of-view videos


def test_training_views_are_the_release_inputs(split):
    batch = next(iterate_batches(make_loader(windows(split, batch=2, seed=3), 1)))
    views = {k: np.asarray(v) for k, v in training_views({k: v[0] for k, v in batch.items()}).items()}
    f = batch["frames"][0].astype(np.float32) / 255
    m = batch["masks"][0].astype(np.float32)
    same = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)  # x/255 vs x*(1/255)
    same(views["frame"], f[:, 1])
    np.testing.assert_array_equal(views["mask"], m[:, 1])
    same(views["clip"], f[:, 0:3])
    same(views["motion_frames"], f[:, 1:4])
    np.testing.assert_array_equal(views["motion_masks"], m[:, 1:4])
    assert views["motion_clips"].shape == (2, 3, 2, SIZE, SIZE, 3)
    for j in range(3):  # the clip of motion frame t+j is (t+j-1, t+j)
        same(views["motion_clips"][:, j], f[:, j : j + 2])
    same(views["target"], batch["target"][0].astype(np.float32) / 255)


def test_order_is_seeded_and_covers_each_epoch_once(split):
    table = split[1]
    a, b = epoch_order(table, "shuffle", 1, 0), epoch_order(table, "shuffle", 1, 0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, epoch_order(table, "shuffle", 2, 0))
    assert not np.array_equal(a, epoch_order(table, "shuffle", 1, 1))
    assert sorted(a) == list(range(len(table)))
    release = epoch_order(table, "release", 1, 0)
    assert sorted(release) == list(range(len(table)))
    videos = table.sample_video[release]
    frames = table.sample_t[release]
    changes = np.flatnonzero(np.diff(videos)) + 1
    assert len(changes) == len(table.sample_counts) - 1  # each video visited in one run
    for run in np.split(frames, changes):
        assert (np.diff(run) == 1).all()  # frames in order within a video
    with pytest.raises(ValueError, match="order must be"):
        epoch_order(table, "random", 0, 0)


def test_processes_split_every_global_batch(split):
    single = list(iterate_batches(make_loader(windows(split, batch=8, seed=5, num_epochs=2), local_devices=2)))
    per_process = [
        list(iterate_batches(make_loader(windows(split, batch=8, seed=5, num_epochs=2, process_index=p,
                                                  process_count=2), local_devices=1)))
        for p in range(2)
    ]
    assert len(single) == len(per_process[0]) == len(per_process[1]) == 2 * (len(split[1]) // 8)
    for step, batch in enumerate(single):
        assert batch["frames"].shape == (2, 4, 4, SIZE, SIZE, 3)
        for p in range(2):
            np.testing.assert_array_equal(batch["frames"][p], per_process[p][step]["frames"][0])
            np.testing.assert_array_equal(batch["frame_index"][p], per_process[p][step]["frame_index"][0])


def test_restored_iterator_yields_the_same_next_batch(split):
    loader = make_loader(windows(split, batch=4, seed=9, num_epochs=3), 2, threads=2)
    uninterrupted = iterate_batches(loader)
    for _ in range(7):
        next(uninterrupted)
    state = uninterrupted.get_state()
    expected = [next(uninterrupted) for _ in range(3)]
    restored = iterate_batches(make_loader(windows(split, batch=4, seed=9, num_epochs=3), 2, threads=1), state)
    for want in expected:
        got = next(restored)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_flip_augmentation_keeps_masks_and_boxes_consistent(split):
    w = windows(split, order="sequential", augment=Augment(flip=True, color_jitter=0.2), seed=4)
    plain = windows(split, order="sequential")
    flipped_any = False
    for i in range(8):
        a, p = w[i], plain[i]
        for k in range(4):
            if not a["absent"][k]:
                np.testing.assert_array_equal(a["masks"][k], box_mask(a["boxes"][k], SIZE, SIZE))
        if not np.array_equal(a["masks"], p["masks"]):
            flipped_any = True
            np.testing.assert_array_equal(a["masks"], p["masks"][:, :, ::-1])
    assert flipped_any
    np.testing.assert_array_equal(w[3]["frames"], w[3]["frames"])  # deterministic per index


def test_clear_errors(split, tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m tanet_jax.data build otb"):
        open_split("otb", str(tmp_path), "test", "r300")
    with pytest.raises(ValueError, match="cannot fill one global batch"):
        windows(split, batch=10_000)
    with pytest.raises(ValueError, match="not divisible"):
        windows(split, batch=6, process_count=4)
    assert len(VideoTable([3, 4, 10])) == 0 + 1 + 7
