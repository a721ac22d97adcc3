"""python -m tanet_jax.evaluate and track end to end on tiny benchmark layouts built on disk:
every benchmark's layout, results that never go stale, bad sequences skipped, GOT-10k's test
package, no attention model used unless named, several starts with bootstrap intervals and
paired differences, reports merged across calls, and flags checked when parsed."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tanet_jax import evaluate as evaluate_cli
from tanet_jax import track as track_cli
from tanet_jax.data import benchmarks
from tanet_jax.evaluation.metrics import score_benchmark
from tanet_jax.tracking.config import apply_overrides, load_config, split_overrides
from helpers import moving_square, otb_root, write_frames, write_lines


def run(args) -> tuple[int, dict]:
    code = evaluate_cli.main([str(a) for a in args])
    out = Path(args[args.index("--out") + 1])
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").is_file() else {}
    return code, report


def test_another_threshold_into_the_same_out_gives_new_results_and_force_recomputes(tmp_path):
    root, out = otb_root(tmp_path / "otb"), tmp_path / "res"
    base = ["--dataset", "otb", "--root", root, "--trackers", "joint", "--attention", "groundtruth", "--out", out,
            "--no-timelines"]
    code, never = run(base + ["--threshold", "0"])
    assert code == 0
    code, always = run(base + ["--threshold", "1"])
    assert code == 0
    a, b = never["trackers"]["joint-groundtruth"], always["trackers"]["joint-groundtruth"]
    assert a["results"] != b["results"]  # another configuration, another folder
    assert a["config"]["joint"]["threshold"] == 0 and b["config"]["joint"]["threshold"] == 1
    assert sum(s["global_searches"] for s in a["per_sequence"].values()) == 0
    assert sum(s["global_searches"] for s in b["per_sequence"].values()) > 0  # tracked again, not reused
    # the same configuration reuses its files; --force tracks again
    gt = np.loadtxt(root / "Alpha" / "groundtruth_rect.txt", delimiter=",")
    (Path(a["results"]) / "Alpha.txt").write_text("".join(",".join(map(str, r)) + "\n" for r in gt))
    code, again = run(base + ["--threshold", "0"])
    assert again["trackers"]["joint-groundtruth"]["per_sequence"]["Alpha"]["success_auc"] == pytest.approx(20 / 21)
    code, forced = run(base + ["--threshold", "0", "--force"])
    assert forced["trackers"]["joint-groundtruth"]["per_sequence"]["Alpha"] == a["per_sequence"]["Alpha"] | {
        "fps": forced["trackers"]["joint-groundtruth"]["per_sequence"]["Alpha"]["fps"]}
    tracker_json = json.loads((Path(a["results"]) / "tracker.json").read_text())
    assert tracker_json["config"]["joint"]["threshold"] == 0 and tracker_json["attention"] == "groundtruth"
    prov = forced["provenance"]
    assert prov["version"] and prov["date"] and prov["machine"]["node"] is not None


def test_a_bad_groundtruth_file_is_reported_and_the_others_are_scored(tmp_path, capsys):
    root = otb_root(tmp_path / "otb", ("Alpha", "Bad", "Gamma"), (18, 14, 22))
    (root / "Bad" / "groundtruth_rect.txt").write_text("1,2,3\n")
    code, report = run(["--dataset", "otb", "--root", root, "--trackers", "local", "--out", tmp_path / "res",
                        "--no-timelines"])
    assert code == 1
    assert list(report["failed"]) == ["read/Bad"] and "groundtruth_rect.txt:1" in report["failed"]["read/Bad"]
    assert set(report["trackers"]["local"]["per_sequence"]) == {"Alpha", "Gamma"}
    assert "failed: read/Bad" in capsys.readouterr().err


def test_attention_is_none_unless_named_and_tanet_needs_a_checkpoint(tmp_path, capsys):
    root = otb_root(tmp_path / "otb", ("Alpha",), (12,))
    out = tmp_path / "res"
    code, _ = run(["--dataset", "otb", "--root", root, "--attention", "tanet", "--out", out])
    assert code == 2 and "--checkpoint" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written
    code, report = run(["--dataset", "otb", "--root", root, "--out", out, "--no-timelines"])
    assert code == 0 and set(report["trackers"]) == {"local"}  # joint without attention is the local tracker
    assert all(t["attention"] == "none" and t["checkpoint_sha256"] is None for t in report["trackers"].values())
    assert "attention: none" in capsys.readouterr().out
    boxes = tmp_path / "boxes.txt"
    assert track_cli.main(["--sequence", str(root / "Alpha"), "--out", str(boxes), "--attention", "tanet"]) == 2
    assert not boxes.exists()
    assert track_cli.main(["--sequence", str(root / "Alpha"), "--out", str(boxes)]) == 0
    assert "attention: none" in capsys.readouterr().out


def test_config_file_and_overrides_are_shared_and_checked(tmp_path, capsys):
    cfg = tmp_path / "mine.py"
    cfg.write_text("from tanet_jax.tracking.build import default_config\n\ndef get_config():\n"
                   "    c = default_config()\n    c.joint.threshold = 0.123\n    return c\n")
    root = otb_root(tmp_path / "otb", ("Alpha",), (12,))
    code, report = run(["--dataset", "otb", "--root", root, "--trackers", "local", "--config", cfg,
                        "--config.joint.every=4", "--out", tmp_path / "res", "--no-timelines"])
    assert code == 0
    joint = report["trackers"]["local"]["config"]["joint"]
    assert joint["threshold"] == pytest.approx(0.123) and joint["every"] == 4
    for bad, words in ((["--config.joint.nosuch=1"], "nosuch"), (["--config.nosection.x=1"], "nosection"),
                       (["--config", tmp_path / "none.py"], "no such tracker config"),
                       (["--config.joint.every=abc"], "joint.every")):
        code, _ = run(["--dataset", "otb", "--root", root, "--out", tmp_path / "bad"] + bad)
        assert code == 2 and words in capsys.readouterr().err
    # the parser itself: both spellings, and a type mismatch is a ValueError naming the key
    rest, overrides = split_overrides(["--out", "x", "--config.joint.every", "3", "--config.joint.threshold=0.5"])
    assert rest == ["--out", "x"] and overrides == [("joint.every", "3"), ("joint.threshold", "0.5")]
    config = load_config(None)
    apply_overrides(config, overrides)
    assert config.joint.every == 3 and config.joint.threshold == 0.5


def test_uav123_10fps_layout_with_nan_frames_and_sub_sequence_ranges(tmp_path):
    root = tmp_path / "UAV123_10fps"
    for name, n in (("uav6", 37), ("uav4", 53)):  # whole videos, frames 1..n
        frames, boxes = moving_square(n, n)
        write_frames(root / "data_seq" / "UAV123_10fps" / name, frames, pattern="{:06d}.jpg")
        boxes[[5, 6, 30]] = np.nan  # fully occluded or out of view
        write_lines(root / "anno" / "UAV123_10fps" / f"{name}.txt", boxes)
        flags = {"uav6": "1,0,0,1,0,0,0,0,0,0,0,0", "uav4": "1,0,0,0,0,0,1,0,0,0,0,0"}[name]  # SV FM / SV OV
        (root / "anno" / "UAV123_10fps" / "att" / f"{name}.txt").parent.mkdir(exist_ok=True)
        (root / "anno" / "UAV123_10fps" / "att" / f"{name}.txt").write_text(flags + "\n")
    code, report = run(["--dataset", "uav123_10fps", "--root", root, "--trackers", "local", "--out",
                        tmp_path / "res", "--no-timelines"])
    assert code == 0 and report["rule"] == "uav"
    per = report["trackers"]["local"]["per_sequence"]
    assert per["uav6"]["frames"] == 34 and per["uav4"]["frames"] == 50  # NaN frames left out
    assert len(report["missing"]) == 121 and "group2_2" in report["missing"]
    attrs = report["trackers"]["local"]["attributes"]
    assert {k: v["sequences"] for k, v in attrs.items()} == {"FM": 1, "OV": 1, "SV": 2}
    assert attrs["FM"]["success_auc"] == pytest.approx(per["uav6"]["success_auc"])
    assert attrs["SV"]["success_auc"] == pytest.approx((per["uav6"]["success_auc"] + per["uav4"]["success_auc"]) / 2)
    assert (tmp_path / "res" / "attributes_plot.png").is_file()
    # a sub-sequence is its published frame range of the parent video: truck4_2 = truck4 193-421
    frames, boxes = moving_square(2, 0)
    for i, f in zip((193, 421), frames):
        write_frames(root / "data_seq" / "UAV123_10fps" / "truck4", [f], first=i, pattern="{:06d}.jpg")
    write_lines(root / "anno" / "UAV123_10fps" / "truck4_2.txt", np.repeat(boxes[:1], 229, 0))
    warnings = benchmarks.Warnings()
    video = {v.name: v for v in benchmarks.read_benchmark("uav123_10fps", root, warnings=warnings)}["truck4_2"]
    assert len(video) == 229 and video.frames[0].name == "000193.jpg" and video.frames[-1].name == "000421.jpg"


def test_dtb70_layout(tmp_path):
    root = otb_root(tmp_path / "DTB70", ("Animal1", "Car2"), (15, 21))
    code, report = run(["--dataset", "dtb70", "--root", root, "--trackers", "local", "--out", tmp_path / "res",
                        "--no-timelines"])
    assert code == 0 and report["rule"] == "otb"
    assert {n: s["frames"] for n, s in report["trackers"]["local"]["per_sequence"].items()} == {"Animal1": 15, "Car2": 21}


def got10k_video(folder: Path, n: int, seed: int, test: bool) -> None:
    frames, boxes = moving_square(n, seed)
    write_frames(folder, frames, pattern="{:08d}.jpg")
    write_lines(folder / "groundtruth.txt", boxes[:1] if test else boxes)
    if not test:
        cover = np.full(n, 8)
        cover[3] = 0
        (folder / "cover.label").write_text("".join(f"{c}\n" for c in cover))


def test_got10k_val_is_the_default_and_test_writes_the_server_package(tmp_path):
    root = tmp_path / "GOT-10k"
    for k, n in enumerate((14, 19)):
        got10k_video(root / "val" / f"GOT-10k_Val_{k + 1:06d}", n, k, test=False)
        got10k_video(root / "test" / f"GOT-10k_Test_{k + 1:06d}", n, k, test=True)
    code, report = run(["--dataset", "got10k", "--root", root, "--trackers", "local", "--out", tmp_path / "val",
                        "--no-timelines"])
    assert code == 0 and report["split"] == "val" and report["rule"] == "got10k"
    local = report["trackers"]["local"]
    assert {"ao", "sr50", "sr75"} <= set(local) and local["frames"] == (14 - 2) + (19 - 2)  # frame 0, cover 0 out
    code, report = run(["--dataset", "got10k", "--split", "test", "--root", root, "--trackers", "local",
                        "--out", tmp_path / "test"])
    assert code == 0 and report["scored"] is False and "ao" not in report["trackers"]["local"]
    with zipfile.ZipFile(report["trackers"]["local"]["package"]) as z:
        names = sorted(z.namelist())
        assert names == sorted(f"GOT-10k_Test_{k:06d}/GOT-10k_Test_{k:06d}_{s}.txt" for k in (1, 2) for s in ("001", "time"))
        lines = z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt").decode().splitlines()
        assert len(lines) == 19 and len(lines[0].split(",")) == 4
        assert len(z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt").decode().split()) == 19


def test_lasot_default_split_is_the_280_test_videos_shipped_with_the_package(tmp_path):
    for name in ("airplane-1", "airplane-2"):  # airplane-1 is a test video, airplane-2 a training video
        frames, boxes = moving_square(6, 0)
        seq = tmp_path / "lasot" / "airplane" / name
        write_frames(seq / "img", frames, pattern="{:08d}.jpg")
        write_lines(seq / "groundtruth.txt", boxes)
        for flag in ("full_occlusion.txt", "out_of_view.txt"):
            (seq / flag).write_text(",".join("0" for _ in range(6)))
    warnings = benchmarks.Warnings()
    assert [v.name for v in benchmarks.read_benchmark("lasot", tmp_path / "lasot", warnings=warnings)] == ["airplane-1"]
    assert len(warnings.missing) == 279


def test_track_honours_the_benchmarks_frame_range(tmp_path, monkeypatch, capsys):
    frames, boxes = moving_square(14, 3)
    seq = tmp_path / "Clip"
    write_frames(seq / "img", frames)
    write_lines(seq / "groundtruth_rect.txt", boxes[3:12])  # the benchmark uses frames 4-12
    monkeypatch.setitem(benchmarks.OTB_FRAME_RANGES, "clip", (4, 12))
    out = tmp_path / "boxes.txt"
    assert track_cli.main(["--sequence", str(seq), "--out", str(out)]) == 0
    result = np.loadtxt(out, delimiter=",")
    assert result.shape == (9, 4)
    np.testing.assert_allclose(result[0], boxes[3])  # initialised on frame 4, the range's first


def test_otb_sequences_carry_the_benchmarks_attribute_labels(tmp_path):
    root = otb_root(tmp_path / "otb", ("Crossing", "Walking2", "MyOwn"), (10, 12, 8))
    labels = {v.name: v.attributes for v in benchmarks.read_benchmark("otb", root)}
    assert labels == {"Crossing": ("SV", "DEF", "BC"), "Walking2": ("SV", "OCC"), "MyOwn": ()}
    code, report = run(["--dataset", "otb", "--root", root, "--trackers", "local", "--out", tmp_path / "res",
                        "--no-timelines"])
    per, attrs = report["trackers"]["local"]["per_sequence"], report["trackers"]["local"]["attributes"]
    assert attrs["SV"]["sequences"] == 2 and attrs["OCC"]["success_auc"] == pytest.approx(per["Walking2"]["success_auc"])


def test_got10k_adapter_builds_from_the_same_config():
    pytest.importorskip("got10k")
    from PIL import Image

    from tanet_jax.tracking.got10k import JointSearchTracker

    frames, boxes = moving_square(4, 1)
    tracker = JointSearchTracker(load_config(None), name="ours")
    tracker.init(Image.fromarray(frames[0][:, :, ::-1]), boxes[0])
    assert tracker.update(Image.fromarray(frames[1][:, :, ::-1])).shape == (4,)
    config = load_config(None)
    config.joint.no_such_setting = 1  # the config reaches tracking.build, which checks every key
    with pytest.raises(ValueError, match="no_such_setting"):
        JointSearchTracker(config)
    with pytest.raises(ValueError, match="annotations"):
        JointSearchTracker(load_config(None), attention="groundtruth")


def test_a_split_the_benchmark_lacks_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "GOT-10k" / "val").mkdir(parents=True)
    code, _ = run(["--dataset", "got10k", "--split", "all", "--root", tmp_path / "GOT-10k", "--out", tmp_path / "r"])
    assert code == 2 and "got10k has no split 'all'" in capsys.readouterr().err


def test_rule_choice_is_checked_before_tracking(tmp_path, capsys):
    root = otb_root(tmp_path / "otb", ("Alpha",), (8,))
    with pytest.raises(SystemExit) as e:
        evaluate_cli.main(["--dataset", "otb", "--root", str(root), "--rule", "pytracking", "--out", str(tmp_path / "r")])
    assert e.value.code == 2 and "--rule for otb: one of otb" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_several_attentions_run_side_by_side_in_one_report(tmp_path):
    root, out = otb_root(tmp_path / "otb"), tmp_path / "res"
    code, report = run(["--dataset", "otb", "--root", str(root), "--trackers", "local,joint",
                        "--attention", "correlation,groundtruth", "--out", str(out), "--no-timelines"])
    assert code == 0
    assert list(report["trackers"]) == ["local", "joint-correlation", "joint-groundtruth"]
    sources = [e["attention_source"] for e in report["trackers"].values()]
    assert sources[0].startswith("none") and sources[1].startswith("correlation") and "upper bound" in sources[2]
    assert [e["upper_bound"] for e in report["trackers"].values()] == [False, False, True]
    folders = {e["results"] for e in report["trackers"].values()}
    assert len(folders) == 3  # each configuration keeps its own results
    assert (out / "success_plot.png").is_file()
    code, _ = run(["--dataset", "otb", "--root", str(root), "--attention", "correlation,nosuch", "--out", str(out)])
    assert code == 2


def test_starts_give_per_start_scores_an_interval_and_paired_differences(tmp_path, capsys):
    root, out = otb_root(tmp_path / "otb", ("Alpha", "Beta"), (12, 14)), tmp_path / "res"
    code, report = run(["--dataset", "otb", "--root", root, "--trackers", "local,joint", "--attention", "groundtruth",
                        "--starts", "2", "--out", out, "--no-timelines"])
    assert code == 0 and report["protocol"]["starts"] == 2 and report["protocol"]["jitter"] == 0.04
    local = report["trackers"]["local"]
    assert (Path(local["results"]) / "Alpha~start1.txt").is_file()  # the jittered start, next to start 0
    assert len(local["per_start"]) == 2
    assert local["per_start"][0]["success_auc"] == local["success_auc"]  # start 0: the benchmark's protocol
    per = local["per_sequence_over_starts"]
    videos = {v.name: v for v in benchmarks.read_benchmark("otb", root)}
    alpha = [score_benchmark("otb", {"Alpha": np.loadtxt(Path(local["results"]) / f, delimiter=",")}, videos)
             ["per_sequence"]["Alpha"]["success_auc"] for f in ("Alpha.txt", "Alpha~start1.txt")]
    assert per["Alpha"]["success_auc"] == pytest.approx(np.mean(alpha))  # each sequence: its mean over starts
    mean = local["mean_over_starts"]["success_auc"]
    assert mean == pytest.approx(np.mean([p["success_auc"] for p in per.values()]))
    lo, hi = local["interval"]["success_auc"]
    assert lo <= mean <= hi
    assert report["baseline"] == "local" and list(report["differences"]) == ["joint-groundtruth"]
    gt = report["trackers"]["joint-groundtruth"]["per_sequence_over_starts"]
    diff = report["differences"]["joint-groundtruth"]["success_auc"]
    assert diff["difference"] == pytest.approx(np.mean([gt[n]["success_auc"] - per[n]["success_auc"] for n in per]))
    assert diff["sequences"] == 2 and diff["interval"][0] <= diff["difference"] <= diff["interval"][1]
    printed = capsys.readouterr().out
    assert "2 starts" in printed and "mean over 2 starts: AUC" in printed and "95% interval over sequences" in printed
    assert "paired difference to local" in printed and "joint-groundtruth" in printed.split("paired difference")[1]
    # --baseline picks the reference; a label that is no tracker is an error before any tracking
    code, report = run(["--dataset", "otb", "--root", root, "--trackers", "local,joint", "--attention", "groundtruth",
                        "--starts", "2", "--baseline", "joint-groundtruth", "--out", out, "--no-timelines"])
    assert code == 0 and list(report["differences"]) == ["local"]
    assert report["differences"]["local"]["success_auc"]["difference"] == pytest.approx(-diff["difference"])
    code, _ = run(["--dataset", "otb", "--root", root, "--baseline", "nosuch", "--out", tmp_path / "other"])
    assert code == 2 and "--baseline nosuch" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_a_rerun_reports_exactly_what_the_first_run_did(tmp_path):
    root, out = otb_root(tmp_path / "otb", ("Alpha", "Beta"), (12, 14)), tmp_path / "res"
    args = ["--dataset", "otb", "--root", root, "--trackers", "local", "--out", out, "--no-timelines"]
    _, first = run(args)
    _, again = run(args)  # reads the result files the first run wrote
    assert again["trackers"] == first["trackers"]
    # the scores are those of the 3-decimal files on disk
    boxes = np.loadtxt(Path(first["trackers"]["local"]["results"]) / "Alpha.txt", delimiter=",")
    videos = {v.name: v for v in benchmarks.read_benchmark("otb", root)}
    on_disk = score_benchmark("otb", {"Alpha": boxes}, videos)["per_sequence"]["Alpha"]["success_auc"]
    assert first["trackers"]["local"]["per_sequence"]["Alpha"]["success_auc"] == on_disk


def test_report_keeps_the_trackers_of_earlier_calls_into_the_same_out(tmp_path, capsys):
    root, out = otb_root(tmp_path / "otb", ("Alpha", "Beta"), (12, 14)), tmp_path / "res"
    base = ["--dataset", "otb", "--root", root, "--out", out, "--no-timelines"]
    _, first = run(base + ["--trackers", "local"])
    code, second = run(base + ["--trackers", "joint", "--attention", "groundtruth"])
    assert code == 0 and list(second["trackers"]) == ["local", "joint-groundtruth"]
    assert second["trackers"]["local"] == first["trackers"]["local"]
    assert list(second["differences"]) == ["joint-groundtruth"]  # against local, the report's first
    assert {"success_plot.png", "precision_plot.png"} <= {p.name for p in out.iterdir()}
    _, again = run(base + ["--trackers", "local"])  # evaluated again: it keeps its place, and stays the baseline
    assert list(again["trackers"]) == ["local", "joint-groundtruth"] and again["baseline"] == "local"
    # another protocol (here --starts) starts a new report, saying so; its result folders stay
    code, third = run(base + ["--trackers", "local", "--starts", "2"])
    assert code == 0 and list(third["trackers"]) == ["local"]
    assert "replacing a report" in capsys.readouterr().err
    assert Path(second["trackers"]["joint-groundtruth"]["results"]).is_dir()


def test_every_numeric_flag_is_checked_when_parsed(tmp_path, capsys):
    root = otb_root(tmp_path / "otb", ("Alpha",), (8,))
    for flag, value in (("--threshold", "-3"), ("--threshold", "1.5"), ("--threshold", "x"), ("--every", "-1"),
                        ("--every", "2.5"), ("--starts", "0"), ("--starts", "two")):
        with pytest.raises(SystemExit) as e:
            evaluate_cli.main(["--dataset", "otb", "--root", str(root), "--out", str(tmp_path / "r"), flag, value])
        err = capsys.readouterr().err
        assert e.value.code == 2 and f"argument {flag}: " in err and err.startswith("usage: python -m tanet_jax.evaluate")
    assert not (tmp_path / "r").exists()


def test_ctrl_c_is_one_line_and_status_130(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_cli, "evaluate", interrupted)
    root = otb_root(tmp_path / "otb", ("Alpha",), (8,))
    assert evaluate_cli.main(["--dataset", "otb", "--root", str(root), "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: evaluation stopped") and err.count("\n") == 1


def test_a_truncated_frame_fails_its_sequence_and_the_others_are_scored(tmp_path, capsys):
    root = otb_root(tmp_path / "otb", ("Alpha", "Beta"), (12, 14))
    frame = root / "Beta" / "img" / "0005.jpg"
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) // 2])  # a copy cut short: OpenCV alone decodes it half grey
    code, report = run(["--dataset", "otb", "--root", root, "--trackers", "local", "--out", tmp_path / "res",
                        "--no-timelines"])
    assert code == 1
    assert set(report["trackers"]["local"]["per_sequence"]) == {"Alpha"}
    assert list(report["failed"]) == ["local/Beta"] and "0005.jpg" in report["failed"]["local/Beta"]
    failed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "local/Beta" in failed[0] and str(frame) in failed[0]


def test_starts_on_the_got10k_test_split_is_a_clear_error(tmp_path, capsys):
    root = tmp_path / "GOT-10k"
    got10k_video(root / "test" / "GOT-10k_Test_000001", 6, 0, test=True)
    code, _ = run(["--dataset", "got10k", "--split", "test", "--root", root, "--starts", "3", "--out", tmp_path / "r"])
    assert code == 2 and "--starts 3" in capsys.readouterr().err and not (tmp_path / "r").exists()
