"""Broken inputs are named, frames are in natural order, and CLI values are checked at parse time:
truncated frames, numbered frame names, a --root at one sequence, folders that are not model
checkpoints, a bad --init, non-positive numeric flags, console-script names, Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import SEQUENCES, synthetic_clip, write_video
from tanet_jax import convert, demo, predict, track
from tanet_jax.data import __main__ as data_main
from tanet_jax.data import benchmarks
from tanet_jax.data.benchmarks import DatasetError, decode_image, list_frames, read_benchmark, read_image
from tanet_jax.frames import LazyFrames
from tanet_jax.models.model_config import get_preset
from tanet_jax.weights import CheckpointError, read_meta, save_model

ROOT = Path(__file__).resolve().parents[1]


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (48, 64)) -> bytes:
    """A real frame's JPEG bytes when the shared sequences are there, else an encoded random image."""
    if SEQUENCES.is_dir():
        return (SEQUENCES / "Crossing" / "img" / "0001.jpg").read_bytes()
    image = np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def truncate(path: Path) -> Path:
    """Cut an image file's bytes in half (what an interrupted copy or download leaves)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def otb_sequence(folder: Path, frames: int = 6) -> Path:
    """An OTB-layout sequence (img/0001.jpg.., groundtruth_rect.txt) of a synthetic clip."""
    clip, boxes = synthetic_clip(0, frames)
    return write_video(folder, clip, boxes, 4, "groundtruth_rect.txt", img_sub="img")


# --------------------------------------------------------------------------- decoding

def test_truncated_jpeg_png_bmp_are_refused_naming_the_file(tmp_path):
    image = cv2.imdecode(np.frombuffer(jpeg_bytes(), np.uint8), cv2.IMREAD_COLOR)
    (tmp_path / "frame.jpg").write_bytes(jpeg_bytes())
    for suffix, kind in ((".jpg", "JPEG"), (".png", "PNG"), (".bmp", "BMP")):
        path = tmp_path / f"frame{suffix}"
        if suffix != ".jpg":
            cv2.imwrite(str(path), image)
        np.testing.assert_array_equal(read_image(path), cv2.imread(str(path)))  # complete: as cv2.imread
        truncate(path)
        with pytest.raises(DatasetError, match=f"{path}: truncated {kind}"):
            read_image(path)
    with pytest.raises(DatasetError, match="missing frame"):
        read_image(tmp_path / "absent.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty.jpg: empty image file"):
        read_image(tmp_path / "empty.jpg")


def test_jpeg_end_marker_rules():
    data = jpeg_bytes()
    half = data[: len(data) // 2]
    assert decode_image(data + b"\0" * 64, "padded").shape[2] == 3  # zero padding after the end marker
    assert decode_image(data + b"camera trailer", "trailer").shape[2] == 3  # bytes after the end marker
    with pytest.raises(DatasetError, match="zero-filled: truncated JPEG"):
        decode_image(half + b"\0" * (len(data) - len(half)), "zero-filled")  # a preallocated file never finished
    # An EXIF thumbnail (a whole JPEG, with its own end marker) in an APP1 segment does not make
    # the main image look complete.
    thumbnail = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))[1].tobytes()
    app1 = b"Exif\0\0" + thumbnail
    with_thumbnail = data[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + data[2:]
    assert decode_image(with_thumbnail, "thumbnail").shape == decode_image(data, "plain").shape
    with pytest.raises(DatasetError, match="cut: truncated JPEG"):
        decode_image(with_thumbnail[: len(with_thumbnail) - len(data) // 2], "cut")
    with pytest.raises(DatasetError, match="junk: unreadable image"):
        decode_image(b"not an image at all", "junk")


def test_lazy_frames_and_the_dataset_pipeline_refuse_truncated_frames(tmp_path):
    from tanet_jax.data.pipeline import decode_jpeg

    seq = otb_sequence(tmp_path / "Seq")
    bad = truncate(seq / "img" / "0003.jpg")
    frames = LazyFrames(list_frames(seq / "img"))
    assert frames[1].shape == frames[0].shape
    with pytest.raises(DatasetError, match=f"{bad}: truncated JPEG"):
        frames[2]
    with pytest.raises(DatasetError, match="video_x frame 3 \\(stored in the dataset\\): truncated JPEG"):
        decode_jpeg(bad.read_bytes(), 32, "video_x frame 3")


# --------------------------------------------------------------------------- the commands on a truncated frame

def test_track_exits_2_naming_a_truncated_frame_and_writes_nothing(tmp_path, capsys):
    seq = otb_sequence(tmp_path / "Seq")
    bad = truncate(seq / "img" / "0004.jpg")
    out, render = tmp_path / "boxes.txt", tmp_path / "out.mp4"
    assert track.main(["--sequence", str(seq), "--out", str(out), "--render", str(render)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {bad}: truncated JPEG (the file ends before its end-of-image marker FFD9)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Seq"]  # no boxes, no (partial) video


def test_data_build_exits_2_naming_a_truncated_frame_and_keeps_nothing(tmp_path, capsys):
    source = tmp_path / "otb"
    otb_sequence(source / "Alpha")
    bad = truncate(otb_sequence(source / "Beta") / "img" / "0005.jpg")
    data_dir = tmp_path / "data"
    assert data_main.main(["build", "otb", "--source", str(source), "--data-dir", str(data_dir)]) == 2
    assert f"error: {bad}: truncated JPEG" in capsys.readouterr().err
    assert not list(data_dir.rglob("*incomplete*")) and not list(data_dir.rglob("*.array_record*"))
    assert data_main.main(["stats", "otb", "--data-dir", str(data_dir)]) == 2  # not taken for built


# --------------------------------------------------------------------------- frame order

def test_frames_in_natural_order(tmp_path):
    image = cv2.imdecode(np.frombuffer(jpeg_bytes(), np.uint8), cv2.IMREAD_COLOR)
    named = tmp_path / "named"
    named.mkdir()
    for i in (1, 2, 10, 11, 3):
        cv2.imwrite(str(named / f"frame_{i}.jpg"), image)
    assert [p.name for p in list_frames(named)] == [f"frame_{i}.jpg" for i in (1, 2, 3, 10, 11)]
    numbered = tmp_path / "numbered"
    numbered.mkdir()
    for i in range(1, 13):
        cv2.imwrite(str(numbered / f"{i}.jpg"), image)
    assert [p.name for p in list_frames(numbered)] == [f"{i}.jpg" for i in range(1, 13)]
    (numbered / "7.jpg").unlink()  # a real gap is still reported
    with pytest.raises(DatasetError, match="7.jpg: missing frame"):
        list_frames(numbered)


# --------------------------------------------------------------------------- --root at one sequence

def test_root_at_one_sequence_says_to_pass_its_parent(tmp_path, capsys):
    seq = otb_sequence(tmp_path / "otb" / "Alpha")
    for dataset in ("otb", "dtb70"):
        with pytest.raises(DatasetError, match=f"^{seq} is one sequence \\(it holds groundtruth_rect.txt\\); "
                                               "pass its parent folder$"):
            list(read_benchmark(dataset, seq))
    tnl = write_video(tmp_path / "tnl2k" / "clip_a", *synthetic_clip(1, 4), img_sub="imgs")
    with pytest.raises(DatasetError, match="clip_a is one sequence \\(it holds groundtruth.txt\\); pass its parent"):
        list(read_benchmark("tnl2k", tnl))
    lasot = write_video(tmp_path / "lasot" / "cat" / "cat-1", *synthetic_clip(1, 4), img_sub="img")
    with pytest.raises(DatasetError, match=f"pass the LaSOT root, 2 folders up: {tmp_path / 'lasot'}$"):
        list(read_benchmark("lasot", lasot))
    with pytest.raises(DatasetError, match="is one LaSOT category"):
        list(read_benchmark("lasot", lasot.parent))
    got = write_video(tmp_path / "got" / "val" / "GOT-10k_Val_000001", *synthetic_clip(1, 4))
    with pytest.raises(DatasetError, match=f"pass the GOT-10k root, 2 folders up: {tmp_path / 'got'}$"):
        list(read_benchmark("got10k", got))
    with pytest.raises(DatasetError, match=f"is the GOT-10k 'val' split folder; pass its parent folder "
                                           f"\\({tmp_path / 'got'}\\) with --split val"):
        list(read_benchmark("got10k", got.parent))
    # The inverse for track: --sequence at a folder of sequences.
    assert track.main(["--sequence", str(seq.parent), "--out", str(tmp_path / "b.txt")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {seq.parent} holds several sequences (NAME/img/); "
                                               "pass one of them to --sequence")
    # The commands say it too (predict reads --root before it loads the model's weights).
    checkpoint = save_model(tmp_path / "ckpt", {"params": {"w": np.ones(2)}}, kind="generator",
                            config=get_preset("tiny"))
    assert predict.main(["--root", str(seq), "--out", str(tmp_path / "m"), "--checkpoint", str(checkpoint)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {seq} is one sequence (it holds groundtruth_rect.txt); "
                                               "pass its parent folder")


# --------------------------------------------------------------------------- folders that are not model checkpoints

def test_empty_folder_and_training_checkpoints_say_what_they_are(tmp_path, capsys):
    import orbax.checkpoint as ocp

    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="an empty folder, not a tanet-jax checkpoint; pass a converted "
                                              "checkpoint .* or a training run's trained generator, WORKDIR/generator"):
        read_meta(tmp_path / "empty")
    workdir = tmp_path / "runs" / "x"
    manager = ocp.CheckpointManager(
        workdir / "checkpoints", options=ocp.CheckpointManagerOptions(create=True, enable_async_checkpointing=False),
        item_handlers={"state": ocp.StandardCheckpointHandler(), "rng": ocp.StandardCheckpointHandler()})
    manager.save(1000, args=ocp.args.Composite(state=ocp.args.StandardSave({"w": np.ones(3)}),
                                               rng=ocp.args.StandardSave({"key": np.ones(2)})))
    manager.wait_until_finished()
    manager.close()
    step = workdir / "checkpoints" / "1000"
    with pytest.raises(CheckpointError, match=f"a training checkpoint \\(step 1000.*not a model checkpoint; pass the "
                                              f"run's trained generator, {workdir / 'generator'}, which is written "
                                              "at the first held-out evaluation that improves on the start"):
        read_meta(step)
    with pytest.raises(CheckpointError, match="a training run's checkpoints folder"):
        read_meta(workdir / "checkpoints")
    with pytest.raises(CheckpointError, match=f"a training run's workdir; pass the run's trained generator, "
                                              f"{workdir / 'generator'}"):
        read_meta(workdir)
    for message in ("convert", "PyTorch"):
        with pytest.raises(CheckpointError) as e:
            read_meta(step)
        assert message not in str(e.value)
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "TANet_model.pkl").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="holds PyTorch files \\(TANet_model.pkl\\).*--torch-checkpoint"):
        read_meta(tmp_path / "torch")
    seq = otb_sequence(tmp_path / "otb" / "Alpha")
    assert predict.main(["--root", str(seq.parent), "--out", str(tmp_path / "m"), "--checkpoint", str(step)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {step}: a training checkpoint (step 1000")


# --------------------------------------------------------------------------- CLI values

def test_init_with_zero_width_quotes_the_users_text(tmp_path, capsys):
    seq = otb_sequence(tmp_path / "Seq")
    with pytest.raises(SystemExit) as e:
        track.main(["--sequence", str(seq), "--out", str(tmp_path / "b.txt"), "--init", "1,2,0,4"])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.strip().splitlines()[-1].endswith("error: argument --init: '1,2,0,4': the width w = 0 must be > 0")
    assert "np.float64" not in err
    for text, message in [("1,2,3", "expected 4 comma-separated numbers"), ("1,a,3,4", "the y y = 'a' is not a number"),
                          ("1,2,3,nan", "the height h = nan is not a finite number")]:
        with pytest.raises(SystemExit):
            track.main(["--sequence", str(seq), "--out", str(tmp_path / "b.txt"), "--init", text])
        assert message in capsys.readouterr().err
    assert track.main(["--sequence", str(seq), "--out", str(tmp_path / "b.txt"), "--init=-500,2,10,4"]) == 2
    assert capsys.readouterr().err.strip() == "error: --init '-500,2,10,4' lies outside the 128x96 first frame"
    assert not (tmp_path / "b.txt").exists()


@pytest.mark.parametrize("main,argv,message", [
    (predict.main, ["--root", "R", "--out", "O", "--checkpoint", "C", "--batch-size", "0"],
     "argument --batch-size: 0 must be >= 1"),
    (demo.main, ["--video", "-1"], "argument --video: -1 must be >= 0"),
    (demo.main, ["--seed", "x"], "argument --seed: 'x' is not an integer"),
    (convert.main, ["--torch-checkpoint", "F", "--output", "O", "--input-size", "0"],
     "argument --input-size: 0 must be >= 1"),
])
def test_bad_numbers_are_refused_at_parse_time(tmp_path, monkeypatch, capsys, main, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing was read or written


@pytest.mark.parametrize("script,main", [("tanet-track", track.main), ("tanet-predict", predict.main),
                                         ("tanet-demo", demo.main), ("tanet-convert", convert.main),
                                         ("tanet-data", data_main.main)])
def test_usage_names_the_console_script(monkeypatch, capsys, script, main):
    monkeypatch.setattr(sys, "argv", [f"/usr/local/bin/{script}", "--help"])
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith(f"usage: {script} ")
    monkeypatch.setattr(sys, "argv", ["/repo/tanet_jax/x.py"])
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m tanet_jax.")


@pytest.mark.parametrize("main,target,argv", [
    (track.main, "tanet_jax.track.load_source", ["--sequence", "S", "--out", "O"]),
    (predict.main, "tanet_jax.predict.read_meta", ["--root", "R", "--out", "O", "--checkpoint", "C"]),
    (demo.main, "tanet_jax.demo.fresh_predictor", ["--out", "D"]),
    (convert.main, "tanet_jax.convert.convert_file", ["--torch-checkpoint", "F", "--output", "O"]),
    (data_main.main, "tanet_jax.data.__main__.build", ["build", "synthetic_tracking", "--data-dir", "D"]),
])
def test_ctrl_c_is_one_line_and_status_130(tmp_path, monkeypatch, capsys, main, target, argv):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(target, interrupted)
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("interrupted: ")


# --------------------------------------------------------------------------- Ctrl-C during a dataset build

def writer_end(fifo: Path, process: subprocess.Popen) -> int:
    """The write end of a named pipe, once `process` has opened it for reading (fails, rather than
    hangs, if the process ends first)."""
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until a reader has it open
        except OSError:
            assert process.poll() is None, "the build ended before reading the frame"
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        return fd


def test_data_build_interrupted_keeps_nothing_and_a_rerun_builds(tmp_path):
    """SIGINT while the build waits on a frame (a named pipe, so no timing is involved): exit 130,
    one line, no traceback, no partial dataset; the same command then builds and reads back."""
    source = tmp_path / "otb"
    seq = otb_sequence(source / "Alpha", frames=6)
    frame = seq / "img" / "0003.jpg"
    data = frame.read_bytes()
    frame.unlink()
    os.mkfifo(frame)
    data_dir = tmp_path / "data"
    command = [sys.executable, "-m", "tanet_jax.data", "build", "otb", "--source", str(source), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr))  # never let a full pipe block it
    reader.start()
    assert process.stdout.readline().startswith("building otb/r300 in ")
    with open(writer_end(frame, process), "wb") as pipe:  # the build has opened the frame: it is generating
        process.send_signal(signal.SIGINT)
        pipe.write(data)
    assert process.wait(timeout=120) == 130
    reader.join()
    assert [line for line in stderr if line.startswith("interrupted")] == [
        "interrupted: the dataset command stopped; nothing half-written is kept, rerun the same command to continue\n"]
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in stderr), "".join(stderr)
    assert not list(data_dir.rglob("*incomplete*")) and not list(data_dir.rglob("*.array_record*"))
    frame.unlink()
    frame.write_bytes(data)
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    from tanet_jax.data.builders import get_builder

    builder = get_builder("otb", data_dir)
    assert builder.is_prepared()
    records = builder.as_data_source("test")
    assert len(records) == 6 and [int(r["frame_index"]) for r in records] == list(range(6))
    assert cv2.imdecode(np.frombuffer(records[2]["image"], np.uint8), cv2.IMREAD_COLOR).shape == (300, 300, 3)


# --------------------------------------------------------------------------- LaSOT / TNL2K absence

def test_lasot_and_tnl2k_absence_read_from_flag_files_else_inferred(tmp_path, caplog):
    frames, boxes = synthetic_clip(4, 6)
    boxes = boxes.copy()
    boxes[[2, 4]] = 0  # 0,0,0,0 on frames 3 and 5
    # LaSOT with its flag files: absence is what they flag (frames 3 and 6); frame 5's 0,0,0,0 box,
    # which no flag marks, has no box but stays scored (a miss), as the toolkit scores it.
    lasot = tmp_path / "lasot"
    seq = write_video(lasot / "cat" / "cat-1", frames, boxes, img_sub="img")
    (seq / "full_occlusion.txt").write_text("0,0,1,0,0,0")
    (seq / "out_of_view.txt").write_text("0,0,0,0,0,1")
    warnings = benchmarks.Warnings()
    [video] = list(benchmarks.read_lasot(lasot, "all", warnings))
    assert video.absent.tolist() == video.marked.tolist() == [False, False, True, False, False, True]
    assert np.isnan(video.boxes[4]).all() and not video.absent[4]
    assert warnings.counts["0,0,0,0 box on a frame the flags do not mark absent"] == 1
    # Without them, the toolkit's absent/NAME.txt; without that either, the 0,0,0,0 boxes (a warning says so).
    (seq / "full_occlusion.txt").unlink()
    (seq / "out_of_view.txt").unlink()
    (lasot / "absent").mkdir()
    (lasot / "absent" / "cat-1.txt").write_text("0\n0\n0\n0\n1\n0\n")
    [video] = list(benchmarks.read_lasot(lasot, "all"))
    assert video.marked.tolist() == [False, False, False, False, True, False]
    (lasot / "absent" / "cat-1.txt").unlink()
    warnings = benchmarks.Warnings()
    [video] = list(benchmarks.read_lasot(lasot, "all", warnings))
    assert video.absent.tolist() == video.marked.tolist() == [False, False, True, False, True, False]
    assert warnings.counts["absence inferred from 0,0,0,0 boxes"] == 1
    # TNL2K: the toolkit's absent/NAME.txt beside the videos (or in the root above test/), else inferred.
    tnl2k = tmp_path / "tnl2k"
    write_video(tnl2k / "test" / "clip_a", frames, boxes, img_sub="imgs")
    warnings = benchmarks.Warnings()
    [video] = list(benchmarks.read_tnl2k(tnl2k, warnings, split="test"))
    assert video.absent.tolist() == [False, False, True, False, True, False]
    assert warnings.counts["absence inferred from 0,0,0,0 boxes"] == 1
    (tnl2k / "absent").mkdir()
    (tnl2k / "absent" / "clip_a.txt").write_text("0\n0\n1\n0\n0\n1\n")
    warnings = benchmarks.Warnings()
    [video] = list(benchmarks.read_tnl2k(tnl2k, warnings, split="test"))
    assert video.absent.tolist() == video.marked.tolist() == [False, False, True, False, False, True]
    assert "absence inferred from 0,0,0,0 boxes" not in warnings.counts
    shutil.move(tnl2k / "absent", tnl2k / "test" / "absent")
    [video] = list(benchmarks.read_tnl2k(tnl2k, split="test"))
    assert video.marked.tolist() == [False, False, True, False, False, True]
    (tnl2k / "test" / "absent" / "clip_a.txt").write_text("0\n1\n")
    with pytest.raises(DatasetError, match="clip_a.txt: 2 flags for 6 frames"):
        list(benchmarks.read_tnl2k(tnl2k, split="test"))
