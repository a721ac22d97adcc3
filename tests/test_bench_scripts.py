"""The tracking benchmark scripts (experiments/bench: tracker_sweep, attention_corruption,
tracker_speed, confidence_roc, redetect_quality) on tiny synthetic input: their logic on hand-made numbers, and
each script end to end on a 2-video, few-frame OTB export (seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "experiments" / "bench"
sys.path.insert(0, str(BENCH))

import attention_corruption as ac  # noqa: E402
import confidence_roc as roc  # noqa: E402
import redetect_quality as rq  # noqa: E402
import tracker_speed as speed  # noqa: E402
import tracker_sweep as sweep  # noqa: E402

from tanet_jax.evaluation.bench import BenchError, run_main  # noqa: E402
from tanet_jax.evaluation.tracker_spec import tracker_code_digest  # noqa: E402
from tanet_jax.geometry import jitter_box  # noqa: E402
from tanet_jax.tracking.attention import GroundTruthAttention  # noqa: E402


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory) -> Path:
    """Two held-out synthetic videos (12 frames, 128x96) in OTB layout, by export_synthetic_otb.py."""
    out = tmp_path_factory.mktemp("synthetic_otb")
    subprocess.run([sys.executable, str(BENCH / "export_synthetic_otb.py"), "--preset", "tiny", "--videos", "2",
                    "--out", str(out)], check=True, capture_output=True)
    return out


# ----------------------------------------------------------------------------- tracker_sweep


def test_grid_values_keep_tuples_and_bad_keys_are_one_line_exit_2(capsys):
    assert sweep.split_values("(0.97,1.0,1.03),(1.0,)") == ["(0.97,1.0,1.03)", "(1.0,)"]
    assert sweep.split_values("0.01, 0.02") == ["0.01", "0.02"]
    grid = sweep.parse_grid(["local.learning_rate=0.01,0.02", "joint.threshold=0.4"])
    assert grid == [("local.learning_rate", ["0.01", "0.02"]), ("joint.threshold", ["0.4"])]
    assert sweep.settings_of(grid) == [{"local.learning_rate": "0.01", "joint.threshold": "0.4"},
                                       {"local.learning_rate": "0.02", "joint.threshold": "0.4"}]
    with pytest.raises(BenchError, match="local.nope"):
        sweep.parse_grid(["local.nope=1,2"])
    with pytest.raises(BenchError, match="given twice"):
        sweep.parse_grid(["local.cell=4", "local.cell=2"])
    with pytest.raises(BenchError, match="local.window=130"):  # not a multiple of the cell: rejected before any run
        sweep.sweep(["/nonexistent"], ["local.window=128,130"], Path("/nonexistent/out"))
    with pytest.raises(SystemExit) as e:
        run_main(sweep.main, ["--root", "/nonexistent", "--grid", "local.nope=1", "--out", "/tmp/x"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "local.nope" in err and "\n" not in err


def test_leave_one_out_chooses_on_the_others_only():
    # A is great on x only; B is middling everywhere: chosen on all is B, but holding out x chooses B
    # (0.2 there) and holding out y or z chooses A (0.1 there): the cross-validated mean is lower.
    table = {"A": {"x": 0.9, "y": 0.1, "z": 0.1}, "B": {"x": 0.2, "y": 0.5, "z": 0.5}}
    root_of = {"x": "r1", "y": "r1", "z": "r2"}
    assert sweep.best_setting(table, ["x", "y", "z"], root_of, False) == "B"
    folds = {f["held_out"]: f for f in sweep.leave_one_out(table, root_of)}
    assert (folds["x"]["setting"], folds["x"]["auc"]) == ("B", 0.2)
    assert (folds["y"]["setting"], folds["y"]["auc"]) == ("A", 0.1)
    assert (folds["z"]["setting"], folds["z"]["auc"]) == ("A", 0.1)
    # weighing roots: r1's mean and r2's mean count equally
    assert sweep.criterion(table["A"], ["x", "y", "z"], root_of, True) == pytest.approx((0.5 + 0.1) / 2)
    with pytest.raises(BenchError):
        sweep.leave_one_out({"A": {"x": 1.0}}, {"x": "r"})


def test_sensitivity_moves_each_parameter_one_step():
    grid = [("a", ["1", "2", "3"]), ("b", ["x", "y"])]
    ids = {(i, j): f"s{i}{j}" for i in range(3) for j in range(2)}
    means = {f"s{i}{j}": 0.1 * i + 0.01 * j for i in range(3) for j in range(2)}
    rows = sweep.sensitivity(grid, ids, means, (1, 0))
    moves = {(r["parameter"], r["to"]): r for r in rows}
    assert set(moves) == {("a", "1"), ("a", "3"), ("b", "y")}
    assert moves[("a", "3")]["change"] == pytest.approx(0.1)
    assert moves[("b", "y")]["change"] == pytest.approx(0.01)


def test_sweep_end_to_end_reports_and_resumes_from_its_cache(otb_root, tmp_path, monkeypatch):
    argv = ["--root", str(otb_root), "--grid", "local.learning_rate=0.005,0.05", "--max-frames", "8",
            "--out", str(tmp_path)]
    report = sweep.main(argv)
    assert set(report["settings"]) == {"s000", "s001", "default"}
    keys = list(report["frames"])
    assert len(keys) == 2 and all(n == 8 for n in report["frames"].values())
    for f in report["cross_validation"]["folds"]:
        other = next(k for k in keys if k != f["held_out"])
        best = max(("s000", "s001"), key=lambda s: report["settings"][s]["per_sequence"][other])
        assert report["settings"][f["setting"]]["per_sequence"][other] == report["settings"][best]["per_sequence"][other]
        assert f["auc"] == report["settings"][f["setting"]]["per_sequence"][f["held_out"]]
    assert 0 <= report["cross_validation"]["mean_auc"] <= 1
    md = (tmp_path / "tracker_sweep.md").read_text()
    assert "python experiments/bench/tracker_sweep.py --root" in md and "CHOSEN ON THESE SEQUENCES" in md
    assert json.loads((tmp_path / "tracker_sweep.json").read_text())["command"].startswith("python ")

    def no_tracking(*a, **k):
        raise AssertionError("a cached run was tracked again")

    monkeypatch.setattr("tanet_jax.tracking.run.run_sequence", no_tracking)
    again = sweep.main(argv)
    assert again["settings"] == report["settings"]
    code = json.loads((tmp_path / "tracker_sweep.json").read_text())["code"]
    assert code["tracking_code_sha256"] == tracker_code_digest() and "git_commit" in code


def test_jittered_starts_are_seeded_bounded_and_averaged_per_sequence(otb_root, tmp_path):
    box = np.array([10.0, 20.0, 40.0, 30.0])
    np.testing.assert_array_equal(jitter_box(box, 0, 0.04), box)
    a, b = jitter_box(box, 1, 0.04), jitter_box(box, 2, 0.04)
    np.testing.assert_array_equal(a, jitter_box(box, 1, 0.04))  # seeded
    assert not np.allclose(a, b)
    for j in range(1, 6):
        moved = jitter_box(box, j, 0.04)
        assert np.all(np.abs(moved[2:] / box[2:] - 1) <= 0.04)
        assert np.all(np.abs((moved[:2] + moved[2:] / 2) - (box[:2] + box[2:] / 2)) <= 0.04 * box[2:] + 1e-9)
    assert sweep.mean_over_starts({"r/a": 0.2, f"r/a{sweep.START_MARK}1": 0.4, "r/b": 0.5}) == pytest.approx(
        {"r/a": 0.3, "r/b": 0.5})
    report = sweep.main(["--root", str(otb_root), "--grid", "local.learning_rate=0.005,0.05", "--max-frames", "6",
                         "--starts", "2", "--out", str(tmp_path)])
    runs = sorted(p.name for p in (tmp_path / "runs").glob("*/*/*.txt"))
    assert len(runs) == 3 * 2 * 2 and any(sweep.START_MARK in r for r in runs)  # 3 settings, 2 sequences, 2 starts
    assert set(report["settings"]["s000"]["per_sequence"]) == set(report["frames"])  # one AUC per sequence


def test_cache_keys_change_with_the_code(tmp_path):
    extra = tmp_path / "wrapper.py"
    extra.write_text("a = 1\n")
    before = tracker_code_digest(extra)
    extra.write_text("a = 2\n")
    assert tracker_code_digest(extra) != before and tracker_code_digest() != before


# ----------------------------------------------------------------------- attention_corruption


def _gt(h: int = 60, w: int = 80) -> tuple[GroundTruthAttention, np.ndarray]:
    boxes = np.array([[30.0, 20.0, 16.0, 12.0]] * 4)
    clean = GroundTruthAttention(boxes)
    frame = np.zeros((h, w, 3), np.uint8)
    clean.start(frame, boxes[0])
    return clean, frame


def _corrupt(kind: str, level: float, seed: int = 0) -> tuple[ac.CorruptedAttention, np.ndarray]:
    clean, frame = _gt()
    c = ac.CorruptedAttention(clean, kind, level, seed, "video")
    c.start(frame, clean.boxes[0])
    return c, frame


def test_corruptions_do_what_they_say():
    clean, frame = _gt()
    truth = clean(1, frame, frame)
    shifted0, _ = _corrupt("shift", 0.0)
    assert np.array_equal(shifted0(1, frame, frame), truth)
    for i in range(1, 4):  # at one target size the mask lies beside the target; at half it overlaps it
        one = _corrupt("shift", 1.0)[0](i, frame, frame)
        half = _corrupt("shift", 0.5)[0](i, frame, frame)
        assert one.sum() > 0 and (one * truth).sum() == 0
        assert (half * truth).sum() > 0 and not np.array_equal(half, truth)
    d, _ = _corrupt("distractor", 0.5)
    m = d(1, frame, frame)
    assert set(np.unique(m)) == {0.0, 0.5, 1.0} and np.array_equal(m == 1.0, truth == 1)
    assert (m == 0.5).sum() > 0 and np.linalg.norm(d.distractor - [38, 26]) >= 1.5 * np.hypot(16, 12)
    assert _corrupt("missing", 1.0)[0](1, frame, frame) is None
    assert np.array_equal(_corrupt("missing", 0.0)[0](1, frame, frame), truth)
    noisy = _corrupt("noise", 1.0)[0](1, frame, frame)
    assert noisy.shape == truth.shape and 0 <= noisy.min() and noisy.max() <= 1 and noisy.std() > 0.1
    mixed = _corrupt("noise", 0.5)[0](1, frame, frame)
    assert mixed[truth == 1].mean() > mixed[truth == 0].mean() + 0.3
    # seeded: same seed, same map; another seed, another map
    assert np.array_equal(_corrupt("noise", 1.0, 3)[0](2, frame, frame), _corrupt("noise", 1.0, 3)[0](2, frame, frame))
    assert not np.array_equal(_corrupt("noise", 1.0, 3)[0](2, frame, frame), _corrupt("noise", 1.0, 4)[0](2, frame, frame))
    with pytest.raises(BenchError):
        ac.CorruptedAttention(clean, "missing", 1.5)
    with pytest.raises(BenchError):
        ac.parse_levels("0.5,x", "noise")


def test_corruption_end_to_end_writes_table_and_plot(otb_root, tmp_path):
    report = ac.main(["--root", str(otb_root), "--sequences", "synthetic_001", "--max-frames", "8",
                      "--shift", "1", "--distractor", "1", "--missing", "0.5", "--noise", "1", "--out", str(tmp_path)])
    assert set(report["runs"]) == {"local", "groundtruth", "correlation", "shift-1", "distractor-1", "missing-0.5",
                                   "noise-1"}
    top = {"shift": 1.0, "distractor": 1.0, "missing": 0.5, "noise": 1.0}
    for kind, points in report["curves"].items():
        assert [p["level"] for p in points] == [0.0, top[kind]]
        assert points[0]["mean_auc"] == report["runs"]["groundtruth"]["mean_auc"]
    assert report["runs"]["local"]["global_searches"] == 0
    assert (tmp_path / "attention_corruption.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "attention_corruption.md").read_text()
    assert "python experiments/bench/attention_corruption.py" in md and "| shift-1 |" in md


# --------------------------------------------------------------------------- confidence_roc


def test_roc_auc_and_frame_labels():
    assert roc.roc_auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert roc.roc_auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert roc.roc_auc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5
    assert np.isnan(roc.roc_auc([0.3, 0.4], [True, True]))
    truth = np.array([[0, 0, 10, 10]] * 4 + [[np.nan] * 4], float)
    boxes = np.array([[50, 50, 10, 10], [0, 0, 10, 10], [3, 0, 10, 10], [40, 40, 10, 10], [0, 0, 10, 10]], float)
    used, good = roc.frame_labels(boxes, truth, 0.5, 0.1)
    # frame 0 out; IoU 1 good; IoU 7/13 good; IoU 0 lost; no ground truth out
    assert used.tolist() == [False, True, True, True, False]
    assert good[used].tolist() == [True, True, False]
    used, _ = roc.frame_labels(boxes, truth, 0.6, 0.1)  # IoU 0.54 lies between: out
    assert used.tolist() == [False, True, False, True, False]


def test_confidence_roc_end_to_end(otb_root, tmp_path):
    report = roc.main(["--root", str(otb_root), "--max-frames", "8", "--out", str(tmp_path)])
    o = report["overall"]
    per = report["per_sequence"]
    assert o["good_frames"] == sum(s["good_frames"] for s in per.values())
    assert o["good_frames"] + o["lost_frames"] <= 2 * 7  # frame 0 never counts
    assert set(report["per_root"]) == {otb_root.name}
    assert set(o["thresholds"]) == {"joint.threshold", "joint.update_threshold"}
    assert "python experiments/bench/confidence_roc.py" in (tmp_path / "confidence_roc.md").read_text()
    with pytest.raises(BenchError, match="negative"):
        roc.confidence_roc([str(otb_root)], tmp_path, positive=0.1, negative=0.5)


# ---------------------------------------------------------------------------- tracker_speed


def test_speed_frames_and_report(otb_root, tmp_path):
    desc, sources = speed.frame_sources(str(otb_root), (128, 96), 6)
    assert len(sources) == 2 and all(len(s["frames"]) == 6 for s in sources)
    desc, sources = speed.frame_sources(str(otb_root), (160, 120), 6)  # no such sequence: a synthetic video
    assert "synthetic" in desc and sources[0]["frames"][0].shape == (120, 160, 3)
    report = speed.speed(tmp_path, size=(160, 120), frames=6, runs=1, every=2)
    t = report["trackers"]
    assert t["local"]["fps"] > 0 and t["local"]["frames_per_run"] == 5 and t["local"]["global_searches_per_run"] == 0
    assert t["joint-correlation"]["every"] == 2 and "map checked every 2 frames" in (tmp_path / "tracker_speed.md").read_text()
    assert sum(t["local"]["warmup_s"].values()) > 0 and t["correlation-map"]["ms_median"] > 0
    assert t["csrt"]["fps"] > 0 and "fps_ratio_to_csrt" in t["local"]
    assert (tmp_path / "tracker_speed.md").is_file() and (tmp_path / "tracker_speed.json").is_file()
    with pytest.raises(BenchError):
        speed.parse_size("1280by720")


# ------------------------------------------------------------------------- redetect_quality


def test_redetect_scores_on_hand_made_maps():
    box = np.array([20.0, 10.0, 10.0, 10.0])  # centre (25, 15) in a 100x50 frame
    m = np.zeros((50, 100), np.float32)
    m[12:18, 22:28] = 1.0  # on the target, 0.36 box areas
    s = rq.score_map(m, box, (100, 50))
    assert s["peak_in_box"] == 1.0 and s["target_at_half_peak"] == 1.0 and s["area_at_half_peak"] == pytest.approx(0.36)
    m[:, 60:] = 0.6  # a plateau elsewhere at more than half the peak: the map is broad
    s = rq.score_map(m, box, (100, 50))
    assert s["peak_in_box"] == 1.0 and s["area_at_half_peak"] == pytest.approx(0.36 + 20.0)
    m[40, 90] = 2.0  # the peak now elsewhere; the target at 0.5 of it still counts as half
    s = rq.score_map(m, box, (100, 50))
    assert s["peak_in_box"] == 0.0 and s["target_at_half_peak"] == 1.0
    m[40, 90] = 3.0
    assert rq.score_map(m, box, (100, 50))["target_at_half_peak"] == 0.0
    assert np.isnan(rq.score_map(np.zeros((5, 10), np.float32), box, (100, 50))["area_at_half_peak"])


def test_redetect_quality_end_to_end(otb_root, tmp_path):
    report = rq.main(["--root", str(otb_root), "--max-frames", "8", "--every", "2", "--out", str(tmp_path),
                      "--config.redetect.max_cells=4096"])
    per = report["per_sequence"]
    assert len(per) == 2 and all(r["maps"] == 3 for r in per.values())  # frames 2, 4, 6 of 0..7
    assert all(0 <= r["peak_in_box"] <= 1 and r["ms_per_map"] > 0 for r in per.values())
    text = (tmp_path / "redetect_quality.md").read_text()
    assert "python experiments/bench/redetect_quality.py" in text and "max_cells=4096" in text
    assert json.loads((tmp_path / "redetect_quality.json").read_text())["params"]["max_cells"] == 4096
    with pytest.raises(SystemExit):
        run_main(rq.main, ["--root", str(otb_root), "--every", "0", "--out", str(tmp_path)])


def test_bench_scripts_are_scripts_not_a_library():
    """No script in experiments/bench imports another: what they share is tanet_jax.evaluation.bench."""
    import ast

    scripts = {p.stem for p in BENCH.glob("*.py")}
    for path in BENCH.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & scripts, f"{path.name} imports a sibling script"


def test_config_overrides_use_the_cli_syntax(otb_root, tmp_path, capsys):
    """`--config.SECTION.KEY=VALUE` sets a field, as in track/evaluate/train; --set and a bad key are exit 2."""
    report = roc.main(["--root", str(otb_root), "--max-frames", "4", "--out", str(tmp_path),
                       "--config.joint.update_threshold", "0.3"])
    assert report["overrides"] == ["--config.joint.update_threshold=0.3"]
    assert "--config.joint.update_threshold=0.3" in (tmp_path / "confidence_roc.md").read_text()
    for bad in (["--set", "joint.every=5"], ["--config.joint.nope=1"], ["--config.joint.every"]):
        with pytest.raises(SystemExit) as e:
            run_main(roc.main, ["--root", str(otb_root), "--out", str(tmp_path), *bad])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "error:" in err and bad[0].split("=")[0] in err  # one line naming the flag

