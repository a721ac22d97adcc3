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


def test_release_order_batch_holds_streams_of_different_videos(split):
    """order='release', global batch B: each slot follows its own video stream, frames in order,
    and the B slots of a batch are B different videos."""
    records, table = split
    batch = 4
    w = TrainingWindows(records, table, SIZE, batch, order="release", seed=3, num_epochs=2)
    assert w.steps_per_epoch >= 5
    loader_batches = list(iterate_batches(make_loader(w, 1)))
    assert len(loader_batches) == 2 * w.steps_per_epoch
    videos = np.stack([b["video_index"][0] for b in loader_batches])  # (steps, B)
    frames = np.stack([b["frame_index"][0] for b in loader_batches])
    for step in range(len(videos)):
        assert len(set(videos[step])) == batch  # B different videos
    for slot in range(batch):
        for s in range(1, w.steps_per_epoch):  # within an epoch: same video -> next frame
            if videos[s, slot] == videos[s - 1, slot]:
                assert frames[s, slot] == frames[s - 1, slot] + 1
            else:  # a new video of this stream starts at its first window
                assert frames[s, slot] == 1
                assert videos[s, slot] not in videos[: s, [b for b in range(batch) if b != slot]]
    # The whole epoch is covered but for the longer streams' tails (less than one video each).
    first_epoch = {(int(v), int(t)) for v, t in zip(videos[: w.steps_per_epoch].ravel(),
                                                     frames[: w.steps_per_epoch].ravel())}
    assert len(first_epoch) == w.steps_per_epoch * batch
    assert len(table) - len(first_epoch) < batch * int(table.sample_counts.max())


def test_release_order_resume_continues_every_stream(split):
    records, table = split
    make = lambda threads: make_loader(TrainingWindows(records, table, SIZE, 4, order="release", seed=8,
                                                       num_epochs=2), 2, threads=threads)
    uninterrupted = iterate_batches(make(2))
    for _ in range(5):
        next(uninterrupted)
    state = uninterrupted.get_state()
    expected = [next(uninterrupted) for _ in range(4)]
    restored = iterate_batches(make(1), state)
    for want in expected:
        got = next(restored)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
    # Every slot continues its stream: frame t+1 of the same video, or a new video's first window.
    before = expected[0]
    after = next(restored)
    for d in range(2):
        for i in range(2):
            v0, t0 = before["video_index"][d, i], before["frame_index"][d, i]
            v1, t1 = after["video_index"][d, i], after["frame_index"][d, i]
            assert (v1 == v0 and t1 == t0 + 1) or t1 == 1


def test_release_order_needs_a_video_per_slot(split):
    records, table = split
    with pytest.raises(ValueError, match="needs at least 40 videos"):
        TrainingWindows(records, table, SIZE, 40, order="release")


def test_eval_samples_spread_over_all_videos(split):
    from tanet_jax.data.pipeline import eval_samples

    table = split[1]
    videos_with_windows = int((table.sample_counts > 0).sum())
    a = eval_samples(table, 2 * videos_with_windows, seed=0)
    np.testing.assert_array_equal(a, eval_samples(table, 2 * videos_with_windows, seed=0))
    assert len(set(a.tolist())) == len(a)  # no window twice
    assert set(table.sample_video[a[:videos_with_windows]].tolist()) == set(np.flatnonzero(table.sample_counts > 0))
    counts = np.bincount(table.sample_video[a], minlength=len(table.sample_counts))
    assert counts[table.sample_counts >= 2].min() == 2  # every video gives its share
