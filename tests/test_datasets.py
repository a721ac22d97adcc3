"""Benchmark readers and TFDS builders: layouts, fields, absence, bad input, the CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tanet_jax.data import benchmarks
from tanet_jax.data.__main__ import main as data_cli
from tanet_jax.data.benchmarks import DatasetError
from tanet_jax.data.builders import build, stats
from tanet_jax.data.synthetic import EVENTS, SYNTHETIC_PRESETS, make_video
from helpers import synthetic_clip, write_video


@pytest.fixture
def got10k_root(tmp_path, sequences_dir_or_none):
    """GOT-10k layout (train with 2 videos, one with an absent frame; test with 1 box)."""
    root = tmp_path / "GOT-10k"
    clips = []
    if sequences_dir_or_none is not None:
        for name in ("Crossing", "DragonBaby"):
            seq = sequences_dir_or_none / name
            files = sorted((seq / "img").iterdir())[:8]
            frames = np.stack([cv2.imread(str(f)) for f in files])
            boxes = benchmarks.parse_boxes(seq / "groundtruth_rect.txt")[:8]
            clips.append((frames, boxes))
    else:
        clips = [synthetic_clip(0), synthetic_clip(1)]
    for i, (frames, boxes) in enumerate(clips):
        boxes = boxes.copy()
        seq = write_video(root / "train" / f"GOT-10k_Train_{i + 1:06d}", frames, boxes)
        absence = np.zeros(len(frames), int)
        if i == 1:
            absence[5] = 1
            boxes[5] = 0  # GOT-10k-style unusable box on the absent frame
            (seq / "groundtruth.txt").write_text("\n".join(",".join(f"{v:g}" for v in b) for b in boxes) + "\n")
        (seq / "absence.label").write_text("\n".join(map(str, absence)) + "\n")
        (seq / "cover.label").write_text("\n".join("8" for _ in frames) + "\n")
        (seq / "cut_by_image.label").write_text("\n".join("0" for _ in frames) + "\n")
        (seq / "meta_info.ini").write_text("[METAINFO]\nobject_class: person\nmotion_class: walking\n")
    (root / "train" / "list.txt").write_text("GOT-10k_Train_000001\nGOT-10k_Train_000002\n")
    frames, boxes = clips[0]
    write_video(root / "test" / "GOT-10k_Test_000001", frames, boxes[:1])
    return root


@pytest.fixture
def sequences_dir_or_none():
    from helpers import SEQUENCES

    return SEQUENCES if SEQUENCES.is_dir() else None


# --------------------------------------------------------------------------- readers

def test_otb_reader_on_shared_sequences(sequences_dir):
    videos = {v.name: v for v in benchmarks.read_otb(sequences_dir)}
    assert set(videos) == {"Ball1", "Crossing", "DragonBaby", "Human3"}
    assert len(videos["Crossing"]) == 120 and videos["Crossing"].image_size == (240, 360)
    np.testing.assert_allclose(videos["Crossing"].boxes[0], [205, 151, 17, 50])
    assert not videos["Human3"].absent.any()


def test_otb_two_targets_and_frame_ranges(tmp_path):
    frames, boxes = synthetic_clip(2, 10)
    seq = write_video(tmp_path / "Jogging", frames, boxes, 4, "groundtruth_rect.1.txt", sep="\t", img_sub="img")
    (seq / "groundtruth_rect.2.txt").write_text("\n".join(" ".join(f"{v:g}" for v in b + 1) for b in boxes))
    # Football1 uses only its first 74 frames in the benchmark: a shorter folder is cut the same way.
    many, many_boxes = synthetic_clip(3, 12)
    write_video(tmp_path / "Football1", np.concatenate([many] * 7), np.concatenate([many_boxes] * 7)[:74],
                4, "groundtruth_rect.txt", img_sub="img")
    videos = {v.name: v for v in benchmarks.read_otb(tmp_path)}
    assert set(videos) == {"Jogging.1", "Jogging.2", "Football1"}
    np.testing.assert_allclose(videos["Jogging.2"].boxes, boxes + 1)
    assert len(videos["Football1"]) == 74


def test_got10k_reader_marks_absence_and_test_split(got10k_root):
    train = list(benchmarks.read_got10k(got10k_root, "train"))
    assert [v.name for v in train] == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    assert train[1].absent.tolist() == [False] * 5 + [True] + [False] * 2
    assert np.isnan(train[1].boxes[5]).all()  # the unusable box is not kept
    assert train[0].description == "person"
    test = list(benchmarks.read_got10k(got10k_root, "test"))
    assert test[0].annotated.tolist() == [True] + [False] * 7


def test_lasot_and_tnl2k_layouts(tmp_path):
    frames, boxes = synthetic_clip(4, 6)
    boxes = boxes.copy()
    boxes[3] = 0
    seq = write_video(tmp_path / "lasot" / "cat" / "cat-1", frames, boxes, img_sub="img")
    (seq / "full_occlusion.txt").write_text("0,0,0,1,0,0")
    (seq / "out_of_view.txt").write_text("0,0,0,0,0,1")
    (seq / "nlp.txt").write_text("a striped cat")
    (tmp_path / "lasot" / "testing_set.txt").write_text("cat-1\n")
    [video] = list(benchmarks.read_lasot(tmp_path / "lasot", "test"))
    assert video.absent.tolist() == [False, False, False, True, False, True]
    assert video.description == "a striped cat"
    assert list(benchmarks.read_lasot(tmp_path / "lasot", "train")) == []
    seq = write_video(tmp_path / "tnl2k" / "video_a", frames, boxes, img_sub="imgs")
    (seq / "language.txt").write_text("the cat on the left")
    [video] = list(benchmarks.read_tnl2k(tmp_path / "tnl2k"))
    assert video.absent.tolist() == [False, False, False, True, False, False]  # 0,0,0,0 marks absence


@pytest.mark.parametrize(
    "damage,message",
    [
        ("missing_frame", "00000003.jpg: missing frame"),
        ("bad_line", "groundtruth.txt:4: cannot parse box"),
        ("outside", "groundtruth.txt:2: box outside the 128x96 image"),
        ("zero_size", "groundtruth.txt:3: zero-size box"),
        ("too_many", "9 boxes for 8 frames"),
        ("too_few", "7 boxes for 8 frames"),
        ("unreadable", "00000002.jpg: unreadable image"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, damage, message):
    frames, boxes = synthetic_clip(5, 8)
    boxes = boxes.copy()
    seq = write_video(tmp_path / "train" / "v1", frames, boxes)
    gt = seq / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    if damage == "missing_frame":
        (seq / "00000003.jpg").unlink()
    elif damage == "bad_line":
        lines[3] = "12,abc,3,4"
    elif damage == "outside":
        lines[1] = "500,10,5,5"
    elif damage == "zero_size":
        lines[2] = "10,10,0,5"
    elif damage == "too_many":
        lines.append(lines[-1])
    elif damage == "too_few":
        lines = lines[:-1]
    elif damage == "unreadable":
        (seq / "00000002.jpg").write_bytes(b"not a jpeg")
    gt.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
        videos = list(benchmarks.read_got10k(tmp_path, "train"))
        if damage == "unreadable":  # frames after the first are decoded when the dataset is built
            build("got10k", tmp_path / "data", tmp_path, "r300")
        assert videos is None


# --------------------------------------------------------------------------- synthetic

def test_synthetic_is_deterministic_and_exact():
    spec = SYNTHETIC_PRESETS["tiny"]
    a, b = make_video(spec, 3), make_video(spec, 3)
    for key in ("frames", "boxes", "visible_fraction"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(make_video(spec, 4)["frames"], a["frames"])
    assert a["frames"].shape == (spec.num_frames, spec.height, spec.width, 3)


def test_synthetic_covers_every_hard_case():
    spec = SYNTHETIC_PRESETS["small"]
    seen = {}
    for i in range(40):
        video = make_video(spec, i)
        for event in video["events"]:
            seen.setdefault(event, video)
    assert set(seen) == set(EVENTS)
    occ = seen["occlusion"]
    inside = [(b[0] >= 0 and b[1] >= 0 and b[0] + b[2] <= spec.width and b[1] + b[3] <= spec.height)
              for b in occ["boxes"]]
    assert any(a and i for a, i in zip(occ["absent"], inside))  # hidden while inside the frame
    oov = seen["out_of_view"]
    assert oov["absent"].any()
    outside = [b[0] + b[2] <= 0 or b[1] + b[3] <= 0 or b[0] >= spec.width or b[1] >= spec.height
               for b in oov["boxes"]]
    assert any(outside)
    jump = seen["jump"]["boxes"]
    assert np.abs(np.diff(jump[:, :2], axis=0)).max() > spec.width / 10
    area = seen["scale"]["boxes"][:, 2] * seen["scale"]["boxes"][:, 3]
    assert area.max() / area.min() > 1.8
    light = seen["illumination"]["frames"].reshape(spec.num_frames, -1).mean(1)
    assert light.max() - light.min() > 30


# --------------------------------------------------------------------------- builders

def test_build_synthetic_tiny_fields(tmp_path):
    builder = build("synthetic_tracking", tmp_path)
    st = stats(builder)
    spec = SYNTHETIC_PRESETS["tiny"]
    assert st["splits"]["train"]["videos"] == spec.num_videos
    assert st["splits"]["train"]["frames"] == spec.num_videos * spec.num_frames
    records = builder.as_data_source("train")
    video = make_video(spec, 1)
    for i in range(spec.num_frames):
        rec = records[spec.num_frames + i]
        assert rec["video_index"] == 1 and rec["frame_index"] == i and rec["num_frames"] == spec.num_frames
        np.testing.assert_array_equal(rec["box"], video["boxes"][i])
        np.testing.assert_array_equal(rec["box_stored"], video["boxes"][i])  # original-size config
        assert bool(rec["absent"]) == bool(video["absent"][i])
        image = cv2.imdecode(np.frombuffer(rec["image"], np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (spec.height, spec.width, 3)
        assert np.abs(image.astype(int) - video["frames"][i]).mean() < 4  # JPEG q95
        assert (rec["target"] != b"") == (i == 0)
    assert st["absent_frames"] == sum(
        int(make_video(spec, i)["absent"].sum()) for i in range(spec.num_videos)
    ) + st["splits"]["val"]["absent_frames"]


def test_build_got10k_r300_boxes_in_both_frames(tmp_path, got10k_root):
    builder = build("got10k", tmp_path / "data", got10k_root, "r300")
    st = stats(builder)
    assert st["splits"]["train"] == {"videos": 2, "frames": 16, "absent_frames": 1}
    assert st["splits"]["test"]["videos"] == 1
    records = builder.as_data_source("train")
    video = list(benchmarks.read_got10k(got10k_root, "train"))[0]
    h, w = video.image_size
    rec = records[2]
    np.testing.assert_allclose(rec["box"], video.boxes[2])
    np.testing.assert_allclose(rec["box_stored"], video.boxes[2] * [300 / w, 300 / h, 300 / w, 300 / h], rtol=1e-6)
    assert tuple(rec["stored_size"]) == (300, 300) and tuple(rec["image_size"]) == (h, w)
    assert records[8 + 5]["absent"] and np.isnan(records[8 + 5]["box"]).all()
    target = cv2.imdecode(np.frombuffer(records[0]["target"], np.uint8), cv2.IMREAD_COLOR)
    assert target.shape == (300, 300, 3)
    test_records = builder.as_data_source("test")
    assert test_records[0]["annotated"] and not test_records[1]["annotated"]
    assert builder.info.metadata["train"]["warnings"] == {"unusable box on a frame marked absent": 1}


def test_original_config_keeps_jpeg_bytes(tmp_path, got10k_root):
    builder = build("got10k", tmp_path / "data", got10k_root, "original")
    rec = builder.as_data_source("train")[3]
    assert rec["image"] == (got10k_root / "train" / "GOT-10k_Train_000001" / "00000004.jpg").read_bytes()


def test_cli_build_and_stats_json(tmp_path, capsys):
    assert data_cli(["build", "synthetic_tracking", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert data_cli(["stats", "synthetic_tracking", "--data-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    spec = SYNTHETIC_PRESETS["tiny"]
    assert out["videos"] == spec.num_videos + 2
    assert out["frames"] == (spec.num_videos + 2) * spec.num_frames
    assert out["absent_frames"] >= 0 and set(out) >= {"videos", "frames", "absent_frames"}
    assert data_cli(["stats", "otb", "--data-dir", str(tmp_path)]) == 2
    assert "not built" in capsys.readouterr().err
    assert data_cli(["build", "otb", "--data-dir", str(tmp_path)]) == 2
    assert "needs --source" in capsys.readouterr().err
