"""Local and joint tracking, candidates, the CLIs, and the got10k-toolkit adapter."""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import cv2
import jax.numpy as jnp
import numpy as np
import pytest

from tanet_jax import evaluate as evaluate_cli
from tanet_jax import track as track_cli
from tanet_jax.data.synthetic import SyntheticSpec, make_video
from tanet_jax.evaluation import metrics
from tanet_jax.tracking.attention import GroundTruthAttention, NoAttention, candidate_regions
from tanet_jax.tracking import cf
from tanet_jax.tracking.cf import CFParams, CorrelationFilterTracker
from tanet_jax.tracking.joint import JointTracker
from tanet_jax.tracking.run import run_sequence

SPEC = SyntheticSpec(num_videos=1, num_frames=40, height=180, width=240, seed=3)


def find_video(events: set[str], exclude: set[str] = frozenset(), far_jump: bool = False):
    """A synthetic video with these events and none of `exclude` (with far_jump: the jump moves
    the target by more than three of its sizes, beyond any local search region)."""
    for i in range(400):
        v = make_video(SPEC, i)
        if events <= set(v["events"]) and not (exclude & set(v["events"])):
            if far_jump:
                b = v["boxes"].astype(float)
                step = np.linalg.norm(np.diff(b[:, :2], axis=0), axis=1)
                if step.max() < 3 * b[:, 2:].max():
                    continue
            return v
    raise AssertionError(f"no synthetic video with {events}")


def iou_after(result_boxes, video, start=0):
    keep = ~video["absent"]
    keep[:start] = False
    return metrics.rect_iou(np.asarray(result_boxes)[keep], video["boxes"][keep].astype(float))


def test_correlation_filter_follows_a_moving_target():
    video = find_video({"illumination"}, {"jump", "out_of_view", "occlusion", "distractors", "scale"})
    result = run_sequence(JointTracker(CorrelationFilterTracker(), NoAttention()), list(video["frames"]),
                          video["boxes"][0])
    ious = iou_after(result.boxes, video)
    assert ious.mean() > 0.6, ious
    assert result.confidence[1:].min() > 0.2  # confident while it tracks


def test_bacf_solver_reaches_the_ridge_solution_without_constraint_and_respects_its_support():
    rng = np.random.default_rng(0)
    n, c, lam = 16, 5, 5e5  # lam / (2K) ~ the spectrum energy: the regulariser matters
    xf = jnp.fft.fft2(jnp.asarray(rng.normal(size=(n, n, c)), jnp.float32), axes=(0, 1))
    g = np.exp(-0.5 * (np.minimum(np.arange(n), n - np.arange(n)) ** 2 / 2.0))
    label_f = jnp.fft.fft2(jnp.asarray(np.outer(g, g), jnp.float32))
    free = cf.solve_bacf(xf, label_f, jnp.ones((n, n)), lam, 1.0, 2.0, 1e4, 60)
    # without a support constraint, ADMM converges to the multi-channel ridge regression
    # min sum_k |x_k . h_k - g_k|^2 + lam/2 ||h||^2 (unnormalised DFT: ||h||^2 = ||h_f||^2 / K)
    ridge = jnp.conj(xf) * label_f[..., None] / (jnp.sum(jnp.abs(xf) ** 2, -1, keepdims=True) + lam / (2 * n * n))
    np.testing.assert_allclose(np.asarray(free), np.asarray(ridge), atol=1e-3 * float(jnp.abs(ridge).max()))
    mask = np.zeros((n, n), np.float32)
    mask[5:11, 6:10] = 1
    h = np.real(np.fft.ifft2(np.asarray(cf.solve_bacf(xf, label_f, jnp.asarray(mask), lam, 1.0, 10.0, 1e4, 3)),
                             axes=(0, 1)))
    assert np.abs(h[mask == 0]).max() < 1e-6 * np.abs(h).max()  # the filter lives on its support only
    assert np.abs(h[mask == 1]).max() > 0


def test_parameters_that_leave_no_filter_support_are_a_clear_error():
    with pytest.raises(ValueError, match="less than one feature cell"):
        CorrelationFilterTracker(CFParams(window=64, cell=8, padding=20.0))
    with pytest.raises(ValueError, match="solver"):
        CorrelationFilterTracker(CFParams(solver="mosse"))


def test_confidence_verifies_the_target_not_the_adapted_filter():
    video = find_video({"illumination"}, {"jump", "out_of_view", "occlusion", "distractors", "scale"})
    frames, boxes = list(video["frames"]), video["boxes"].astype(float)
    tracker = CorrelationFilterTracker(CFParams())
    tracker.initialize(frames[0], boxes[0])
    center = boxes[0, :2] + boxes[0, 2:] / 2
    assert tracker.search(frames[0], center).confidence == pytest.approx(1.0, abs=1e-3)  # ~1 as at init
    far = np.array(frames[0].shape[1::-1], float) - center  # mirrored: background
    # learn the background as if drifted there: the adapted filter now matches it, the verdict does not
    for _ in range(30):
        tracker.update(frames[0], np.r_[far - boxes[0, 2:] / 2, boxes[0, 2:]])
    assert tracker.search(frames[0], far).confidence < 0.5 * tracker.search(frames[0], center).confidence


def test_joint_search_recovers_after_a_jump_where_local_search_fails():
    video = find_video({"jump"}, {"out_of_view", "occlusion"}, far_jump=True)
    frames, boxes = list(video["frames"]), video["boxes"].astype(float)
    jump = int(np.argmax(np.linalg.norm(np.diff(boxes[:, :2], axis=0), axis=1))) + 1
    local = run_sequence(JointTracker(CorrelationFilterTracker(), NoAttention()), frames, boxes[0])
    joint = run_sequence(JointTracker(CorrelationFilterTracker(), GroundTruthAttention(boxes, video["absent"])),
                         frames, boxes[0])
    end_local = iou_after(local.boxes, video, jump + 3).mean()
    end_joint = iou_after(joint.boxes, video, jump + 3).mean()
    assert end_local < 0.3 and end_joint > 0.5, (end_local, end_joint)
    assert joint.global_search[jump : jump + 3].any()  # the switch fired after the failure


def test_candidate_regions_order_peak_then_mass():
    m = np.zeros((100, 100), np.float32)
    m[10:20, 10:20] = 0.6  # big blob: mass 60
    m[70:74, 80:84] = 0.95  # small blob with the peak: mass 15.2
    centers = candidate_regions(m, (200, 100), top_k=3, threshold=0.5)
    np.testing.assert_allclose(centers[0], [(80 + 0.5) * 2, 70 + 0.5])  # the peak first
    np.testing.assert_allclose(centers[1], [(14.5 + 0.5) * 2, 14.5 + 0.5], rtol=1e-5)  # then by mass
    assert len(centers) == 3
    assert candidate_regions(np.zeros((5, 5)), (10, 10)) == []


def test_bad_initial_boxes_are_clear_errors():
    frame = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(ValueError, match="zero size"):
        CorrelationFilterTracker().initialize(frame, [5, 5, 0, 4])
    with pytest.raises(ValueError, match="outside"):
        CorrelationFilterTracker().initialize(frame, [70, 5, 5, 4])


def write_otb(root: Path, name: str, video) -> Path:
    img = root / name / "img"
    img.mkdir(parents=True)
    for i, f in enumerate(video["frames"]):
        cv2.imwrite(str(img / f"{i + 1:04d}.jpg"), f)
    boxes = video["boxes"].astype(float).copy()
    # Keep OTB boxes inside the image (OTB has no absence marks).
    boxes[:, 0] = np.clip(boxes[:, 0], 0, SPEC.width - 5)
    boxes[:, 1] = np.clip(boxes[:, 1], 0, SPEC.height - 5)
    (root / name / "groundtruth_rect.txt").write_text("\n".join(",".join(f"{v:g}" for v in b) for b in boxes))
    return root / name


def test_evaluate_cli_writes_toolkit_layout_report_plots(tmp_path):
    root = tmp_path / "otb"
    write_otb(root, "Jumpy", find_video({"jump"}, {"out_of_view", "occlusion"}))
    write_otb(root, "Calm", find_video({"illumination"}, {"jump", "out_of_view", "occlusion"}))
    broken = write_otb(root, "Broken", find_video({"scale"}, {"out_of_view", "occlusion"}))
    (broken / "img" / "0005.jpg").write_bytes(b"not an image")
    out = tmp_path / "results"
    code = evaluate_cli.main(["--dataset", "otb", "--root", str(root), "--trackers", "local,joint",
                              "--attention", "groundtruth", "--out", str(out)])
    assert code == 1  # Broken failed, the others are reported
    report = json.loads((out / "report.json").read_text())
    assert set(report["trackers"]) == {"local", "joint-groundtruth"}
    assert list(report["failed"]) == ["local/Broken", "joint-groundtruth/Broken"]
    assert report["trackers"]["joint-groundtruth"]["upper_bound"] and not report["trackers"]["local"]["upper_bound"]
    for label in ("local", "joint-groundtruth"):
        r = report["trackers"][label]
        assert set(r) >= {"success_auc", "precision", "norm_precision", "fps", "per_sequence", "config", "attention_source"}
        assert set(r["per_sequence"]) == {"Jumpy", "Calm"}
        boxes = np.loadtxt(Path(r["results"]) / "Jumpy.txt", delimiter=",")
        assert boxes.shape == (SPEC.num_frames, 4)
        assert (out / "timelines" / label / "Jumpy.png").is_file()
        # The report's numbers are the metrics of the files it wrote (OTB: every frame counts).
        anno = np.loadtxt(root / "Jumpy" / "groundtruth_rect.txt", delimiter=",")
        boxes[0] = anno[0]
        ious = metrics.rect_iou(boxes, anno)
        assert r["per_sequence"]["Jumpy"]["success_auc"] == pytest.approx(float(np.mean(metrics.success_curve(ious))))
    assert (report["trackers"]["joint-groundtruth"]["per_sequence"]["Jumpy"]["success_auc"]
            > report["trackers"]["local"]["per_sequence"]["Jumpy"]["success_auc"])
    assert (out / "success_plot.png").is_file() and (out / "precision_plot.png").is_file()


def test_track_cli_boxes_and_render(tmp_path):
    seq = write_otb(tmp_path / "otb", "Calm", find_video({"illumination"}, {"jump", "out_of_view", "occlusion"}))
    out, render = tmp_path / "boxes.txt", tmp_path / "out.mp4"
    assert track_cli.main(["--sequence", str(seq), "--out", str(out), "--render", str(render), "--attention", "none"]) == 0
    assert np.loadtxt(out, delimiter=",").shape == (SPEC.num_frames, 4)
    cap, n = cv2.VideoCapture(str(render)), 0
    while cap.read()[0]:
        n += 1
    assert n == SPEC.num_frames
    with pytest.raises(SystemExit) as bad_init:  # a malformed --init is refused at parse time
        track_cli.main(["--sequence", str(seq), "--out", str(out), "--init", "1,2,3", "--attention", "none"])
    assert bad_init.value.code == 2
    assert track_cli.main(["--video", str(tmp_path / "none.mp4"), "--init", "1,2,3,4", "--out", str(out),
                           "--attention", "none"]) == 2


def test_got10k_toolkit_runs_our_tracker_and_agrees_on_scores(tmp_path, sequences_dir):
    experiments = pytest.importorskip("got10k.experiments")
    from tanet_jax.tracking.got10k import JointSearchTracker

    root = tmp_path / "otb"
    for name in ("Crossing", "DragonBaby"):
        shutil.copytree(sequences_dir / name, root / name)
    from got10k.datasets import OTB

    # The toolkit's constructor would download the missing OTB sequences; build it without that.
    exp = experiments.ExperimentOTB.__new__(experiments.ExperimentOTB)
    exp.dataset = OTB(str(root), 2015, download=False)
    exp.result_dir, exp.report_dir = str(tmp_path / "res" / "OTB2015"), str(tmp_path / "rep" / "OTB2015")
    exp.nbins_iou, exp.nbins_ce = 21, 51
    tracker = JointSearchTracker(name="ours")
    exp.run(tracker)
    performance = exp.report(["ours"])["ours"]
    ours = {}
    for name in ("Crossing", "DragonBaby"):
        boxes = np.loadtxt(tmp_path / "res" / "OTB2015" / "ours" / f"{name}.txt", delimiter=",")
        anno = np.loadtxt(root / name / "groundtruth_rect.txt", delimiter=",")
        video = types.SimpleNamespace(boxes=anno, absent=np.zeros(len(anno), bool), marked=None, image_size=(0, 0))
        ours[name] = metrics.score_benchmark("otb", {name: boxes}, {name: video})["per_sequence"][name]
        seq = performance["seq_wise"][name]
        assert ours[name]["success_auc"] == pytest.approx(seq["success_score"], abs=1e-9)
        assert ours[name]["precision"] == pytest.approx(seq["precision_score"], abs=1e-9)
    assert ours["Crossing"]["success_auc"] > 0.6
