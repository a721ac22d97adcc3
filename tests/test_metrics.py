"""Our metrics against the got10k toolkit's own functions on the same boxes."""

from __future__ import annotations

import types

import numpy as np
import pytest

from tanet_jax.evaluation import metrics

toolkit_metrics = pytest.importorskip("got10k.utils.metrics")
from got10k.experiments.got10k import ExperimentGOT10k  # noqa: E402
from got10k.experiments.otb import ExperimentOTB  # noqa: E402


def one_sequence(benchmark, boxes, anno, absent=None):
    """Scores of one sequence as evaluate computes them (score_benchmark under the benchmark's rule)."""
    absent = np.zeros(len(anno), bool) if absent is None else absent
    video = types.SimpleNamespace(boxes=anno, absent=absent, marked=None, image_size=(240, 320))
    return metrics.score_benchmark(benchmark, {"s": boxes}, {"s": video})["per_sequence"]["s"]


def random_boxes(rng, n, w=320, h=240):
    anno = np.stack([rng.uniform(-20, w, n), rng.uniform(-20, h, n), rng.uniform(1, 80, n), rng.uniform(1, 80, n)], 1)
    boxes = anno + rng.normal(0, 15, anno.shape)
    boxes[:, 2:] = np.abs(boxes[:, 2:]) + 0.5
    boxes[::7] = anno[::7]  # exact hits
    boxes[3::11] += 500  # misses
    return boxes, anno


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iou_center_error_and_curves_equal_the_toolkit(seed):
    rng = np.random.default_rng(seed)
    boxes, anno = random_boxes(rng, 300)
    ious = metrics.rect_iou(boxes, anno)
    np.testing.assert_allclose(ious, toolkit_metrics.rect_iou(boxes.copy(), anno.copy()), rtol=0, atol=1e-12)
    np.testing.assert_allclose(metrics.center_error(boxes, anno), toolkit_metrics.center_error(boxes, anno), atol=1e-12)
    otb = types.SimpleNamespace(nbins_iou=21, nbins_ce=51)
    succ, prec = ExperimentOTB._calc_curves(otb, ious, metrics.center_error(boxes, anno))
    np.testing.assert_array_equal(metrics.success_curve(ious), succ)
    np.testing.assert_array_equal(metrics.precision_curve(metrics.center_error(boxes, anno)), prec)
    scores = one_sequence("otb", boxes, anno)  # boxes[0] is anno[0], as the rule sets it
    assert scores["success_auc"] == pytest.approx(float(np.mean(succ)), abs=1e-12)
    assert scores["precision"] == pytest.approx(float(prec[20]), abs=1e-12)


def test_got10k_ao_and_sr_equal_the_toolkit():
    rng = np.random.default_rng(5)
    boxes, anno = random_boxes(rng, 120)
    cover = rng.integers(0, 9, 120)
    bound = (320, 240)
    ious = toolkit_metrics.rect_iou(boxes[1:].copy(), anno[1:].copy(), bound=bound)[cover[1:] > 0]
    g = types.SimpleNamespace(nbins_iou=101)
    ao, sr, _, _ = ExperimentGOT10k._evaluate(g, ious, np.ones(10))
    ours = one_sequence("got10k", boxes, anno, absent=cover == 0)
    assert ours["ao"] == pytest.approx(float(ao), abs=1e-12)
    assert ours["sr50"] == pytest.approx(float(sr), abs=1e-12)
    assert ours["sr75"] == pytest.approx(float(np.mean(ious > 0.75)), abs=1e-12)
    assert ours["frames"] == int((cover[1:] > 0).sum())


def test_normalized_precision_by_hand():
    anno = np.array([[10.0, 10.0, 20.0, 10.0]] * 4)
    boxes = anno.copy()
    boxes[1, 0] += 2.0  # 0.1 of the width: inside 0.2
    boxes[2, 0] += 6.0  # 0.3 of the width: outside
    boxes[3, 1] += 3.0  # 0.3 of the height: outside
    assert one_sequence("otb", boxes, anno)["norm_precision"] == pytest.approx(0.5)


def test_unannotated_frames_are_skipped_under_the_uav_rule():
    anno = np.array([[0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float)
    boxes = np.array([[0, 0, 10, 10], [50, 50, 5, 5], [0, 0, 10, 10]], float)
    scores = one_sequence("uav123", boxes, anno)
    assert scores["frames"] == 2 and scores["success_auc"] == pytest.approx(20 / 21)


# --------------------------------------------------------------------------- benchmark rules
# Result files of several sequences of different lengths, scored by our rules and by the
# toolkits' own report code (got10k) or a line-by-line transcription of it (pytracking).

import dataclasses  # noqa: E402

from got10k.experiments.uav123 import ExperimentUAV123  # noqa: E402

LENGTHS = (37, 120, 64, 211)


@dataclasses.dataclass
class FakeVideo:
    boxes: np.ndarray
    absent: np.ndarray
    image_size: tuple[int, int] = (240, 320)
    marked: np.ndarray | None = None


class FakeDataset(list):
    """What the got10k experiments iterate: items by index or name, and seq_names."""

    def __init__(self, names, items):
        super().__init__(items)
        self.seq_names = list(names)

    def __getitem__(self, i):
        return list.__getitem__(self, i if isinstance(i, int) else self.seq_names.index(i))


def several(seed, nan_every=0):
    rng = np.random.default_rng(seed)
    results, videos = {}, {}
    for k, n in enumerate(LENGTHS):
        boxes, anno = random_boxes(rng, n)
        absent = np.zeros(n, bool)
        if nan_every:
            absent[rng.integers(1, n, n // nan_every)] = True
            anno[absent] = np.nan
        results[f"seq{k}"], videos[f"seq{k}"] = boxes, FakeVideo(anno, absent)
    return results, videos


def toolkit_report(exp, tmp_path, results, videos, layout):
    exp.result_dir, exp.report_dir = str(tmp_path / "res"), str(tmp_path / "rep")
    exp.plot_curves = lambda *a, **k: None
    for name, boxes in results.items():
        path = tmp_path / "res" / "ours" / layout.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(path, boxes, fmt="%.17g", delimiter=",")
    return exp.report(["ours"])["ours"]


@pytest.mark.parametrize("bench,cls,nan_every", [("otb", ExperimentOTB, 0), ("dtb70", ExperimentOTB, 0),
                                                     ("uav123_10fps", ExperimentUAV123, 5)])
def test_otb_dtb70_uav_rules_equal_the_got10k_report(tmp_path, bench, cls, nan_every):
    results, videos = several(7, nan_every)
    exp = cls.__new__(cls)
    exp.dataset = FakeDataset(videos, [(None, v.boxes) for v in videos.values()])
    exp.nbins_iou, exp.nbins_ce = 21, 51
    perf = toolkit_report(exp, tmp_path, results, videos, "{name}.txt")
    ours = metrics.score_benchmark(bench, results, videos)
    assert ours["success_auc"] == pytest.approx(perf["overall"]["success_score"], abs=1e-12)
    assert ours["precision"] == pytest.approx(perf["overall"]["precision_score"], abs=1e-12)
    for name in videos:
        assert ours["per_sequence"][name]["success_auc"] == pytest.approx(perf["seq_wise"][name]["success_score"], abs=1e-12)
    if nan_every:  # the NaN frames are left out, not counted as misses
        assert ours["per_sequence"]["seq0"]["frames"] == int((~videos["seq0"].absent).sum())


def test_got10k_pools_frames_of_all_sequences_as_the_toolkit_report(tmp_path):
    rng = np.random.default_rng(11)
    results, videos, items = {}, {}, []
    for k, n in enumerate(LENGTHS):
        boxes, anno = random_boxes(rng, n)
        cover = rng.integers(0, 9, n)
        name = f"GOT-10k_Val_{k:06d}"
        results[name], videos[name] = boxes, FakeVideo(anno, cover == 0)
        items.append((None, anno, {"cover": cover, "resolution": "(320, 240)"}))
        times = tmp_path / "res" / "ours" / name / f"{name}_time.txt"
        times.parent.mkdir(parents=True)
        np.savetxt(times, rng.uniform(0.01, 0.02, n))
    exp = ExperimentGOT10k.__new__(ExperimentGOT10k)
    exp.dataset, exp.subset, exp.nbins_iou = FakeDataset(videos, items), "val", 101
    perf = toolkit_report(exp, tmp_path, results, videos, "{name}/{name}_001.txt")
    ours = metrics.score_benchmark("got10k", results, videos)
    assert ours["ao"] == pytest.approx(perf["overall"]["ao"], abs=1e-12)
    assert ours["sr50"] == pytest.approx(perf["overall"]["sr"], abs=1e-12)
    np.testing.assert_allclose(ours["success_curve"], perf["overall"]["succ_curve"], atol=1e-12)
    for name in videos:
        assert ours["per_sequence"][name]["ao"] == pytest.approx(perf["seq_wise"][name]["ao"], abs=1e-12)
    # pooled is not the mean of the per-sequence AOs when lengths differ
    assert abs(ours["ao"] - np.mean([s["ao"] for s in ours["per_sequence"].values()])) > 1e-4


def pytracking_oracle(results, videos, dataset):
    """pytracking's analysis/extract_results.py (calc_seq_err_robust + extract_results with
    exclude_invalid_frames=False, plot_results' AUC), transcribed with torch as it is written."""
    torch = pytest.importorskip("torch")

    def err_center(pred, anno, normalized=False):
        pc, ac = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0), anno[:, :2] + 0.5 * (anno[:, 2:] - 1.0)
        if normalized:
            pc, ac = pc / anno[:, 2:], ac / anno[:, 2:]
        return ((pc - ac) ** 2).sum(1).sqrt()

    def iou(pred, anno):
        tl = torch.max(pred[:, :2], anno[:, :2])
        br = torch.min(pred[:, :2] + pred[:, 2:] - 1.0, anno[:, :2] + anno[:, 2:] - 1.0)
        inter = (br - tl + 1.0).clamp(0).prod(dim=1)
        return inter / (pred[:, 2:].prod(dim=1) + anno[:, 2:].prod(dim=1) - inter)

    t_ov = torch.arange(0.0, 1.0 + 0.05, 0.05, dtype=torch.float64)
    t_ce = torch.arange(0, 51, dtype=torch.float64)
    succ, prec, norm = [], [], []
    for name, video in videos.items():
        pred, anno = torch.tensor(results[name]).clone(), torch.tensor(np.nan_to_num(video.boxes, nan=0.0))
        visible = None if dataset != "lasot" else torch.tensor(~video.marked)
        for i in range(1, pred.shape[0]):
            if (pred[i, 2:] == 0.0).any() and not torch.isnan(anno[i, :]).any():
                pred[i, :] = pred[i - 1, :]
        pred[0, :] = anno[0, :]
        valid = ((anno[:, 2:] > 0.0).sum(1) == 2) & (visible if visible is not None else True)
        ce, cen, ov = err_center(pred, anno), err_center(pred, anno, True), iou(pred, anno)
        ce[~valid], cen[~valid], ov[~valid] = float("inf"), -1.0, -1.0
        if dataset == "lasot":
            cen[~visible], ce[~visible] = float("inf"), float("inf")
        n = anno.shape[0]
        succ.append((ov.view(-1, 1) > t_ov.view(1, -1)).sum(0).double() / n)
        prec.append((ce.view(-1, 1) <= t_ce.view(1, -1)).sum(0).double() / n)
        norm.append((cen.view(-1, 1) <= (t_ce / 100.0).view(1, -1)).sum(0).double() / n)
    succ, prec, norm = (torch.stack(c).mean(0) for c in (succ, prec, norm))
    return float(succ.mean()), float(prec[20]), float(norm[20])


@pytest.mark.parametrize("dataset", ["lasot", "tnl2k"])
def test_lasot_and_tnl2k_pytracking_rule_equals_pytracking_analysis(dataset):
    rng = np.random.default_rng(3)
    results, videos = {}, {}
    for k, n in enumerate(LENGTHS):
        boxes, anno = random_boxes(rng, n)
        boxes[rng.integers(1, n, 3), 2] = 0.0  # zero-size results take the previous box
        marked = np.zeros(n, bool)
        marked[rng.integers(1, n, n // 6)] = True  # fully occluded / out of view
        anno[marked & (rng.random(n) < 0.5)] = np.nan  # where the reader found 0,0,0,0
        if dataset == "tnl2k":
            marked = np.isnan(anno).any(axis=1)
        results[f"s{k}"], videos[f"s{k}"] = boxes, FakeVideo(anno, marked, marked=marked)
    auc, prec, norm = pytracking_oracle(results, videos, dataset)
    ours = metrics.score_benchmark(dataset, results, videos, rule="pytracking")
    assert ours["success_auc"] == pytest.approx(auc, abs=1e-9)
    assert ours["precision"] == pytest.approx(prec, abs=1e-9)
    assert ours["norm_precision"] == pytest.approx(norm, abs=1e-9)
    # absent frames stay in the denominator: a perfect tracker scores below 1 where frames are invalid
    perfect = metrics.score_benchmark(dataset, {n: np.nan_to_num(v.boxes, nan=1.0) for n, v in videos.items()}, videos,
                                      rule="pytracking")
    assert perfect["success_auc"] < 1.0


def lasot_toolkit_oracle(results, raw_annos, absents):
    """The official LaSOT toolkit (utils/calc_seq_err_robust.m, utils/eval_tracker.m; the TNL2K
    toolkit is a copy) transcribed line by line from MATLAB, on the raw annotations (0,0,0,0 boxes)."""
    curves = {"succ": [], "prec": [], "norm": []}
    for name, res in results.items():
        anno, absent = raw_annos[name], absents[name]
        res = res.copy()
        for i in range(1, len(anno)):
            r = res[i]
            if (np.isnan(r).any() or r[2] <= 0 or r[3] <= 0) and not np.isnan(anno[i]).any():
                res[i] = res[i - 1]
        rect = res.copy()
        rect[0] = anno[0]
        rect, an = rect[absent != 1], anno[absent != 1]
        idx = (an > 0).sum(axis=1) == 4
        left_a, bottom_a = rect[idx, 0], rect[idx, 1]
        right_a, top_a = left_a + rect[idx, 2] - 1, bottom_a + rect[idx, 3] - 1
        left_b, bottom_b = an[idx, 0], an[idx, 1]
        right_b, top_b = left_b + an[idx, 2] - 1, bottom_b + an[idx, 3] - 1
        tmp = (np.maximum(0, np.minimum(right_a, right_b) - np.maximum(left_a, left_b) + 1)
               * np.maximum(0, np.minimum(top_a, top_b) - np.maximum(bottom_a, bottom_b) + 1))
        cover = -np.ones(len(idx))
        cover[idx] = tmp / (rect[idx, 2] * rect[idx, 3] + an[idx, 2] * an[idx, 3] - tmp)
        len_all = len(anno) + np.finfo(float).eps
        curves["succ"].append([np.sum(cover > t) / len_all for t in np.linspace(0, 1, 21)])
        for key, norm_dst in (("prec", False), ("norm", True)):
            c_gt = np.c_[an[:, 0] + (an[:, 2] - 1) / 2, an[:, 1] + (an[:, 3] - 1) / 2]
            c = np.c_[rect[:, 0] + (rect[:, 2] - 1) / 2, rect[:, 1] + (rect[:, 3] - 1) / 2]
            with np.errstate(invalid="ignore", divide="ignore"):
                if norm_dst:
                    c, c_gt = c / an[:, 2:], c_gt / an[:, 2:]
                err = np.sqrt(np.sum((c - c_gt) ** 2, axis=1))
            err[~idx] = -1
            thr = np.arange(0, 51) / (100.0 if norm_dst else 1.0)
            curves[key].append([np.sum(err <= t) / len_all for t in thr])
    succ, prec, norm = (np.mean(curves[k], axis=0) for k in ("succ", "prec", "norm"))
    return float(np.mean(succ)), float(prec[20]), float(norm[20])


@pytest.mark.parametrize("dataset", ["lasot", "tnl2k"])
def test_lasot_and_tnl2k_default_rule_equals_the_official_toolkit(dataset):
    rng = np.random.default_rng(8)
    results, videos, raw, absents = {}, {}, {}, {}
    for k, n in enumerate(LENGTHS):
        boxes, anno = random_boxes(rng, n)
        anno = np.round(np.abs(anno))  # LaSOT boxes are integers
        anno[rng.integers(1, n, 4), 0] = 0  # touching the left border: x = 0
        boxes[rng.integers(1, n, 3), 2] = 0.0  # a zero-size result takes the previous box
        flagged = np.zeros(n, bool)
        flagged[rng.integers(1, n, n // 6)] = True  # LaSOT: fully occluded / out of view
        zero = flagged & (rng.random(n) < 0.6)
        zero[rng.integers(1, n, 2)] = True  # an empty box on a frame with no flag
        anno[zero] = 0
        raw[f"s{k}"] = anno.copy()
        absents[f"s{k}"] = flagged if dataset == "lasot" else zero
        read = anno.copy()
        read[zero] = np.nan  # as tanet_jax.data.benchmarks reads 0,0,0,0
        results[f"s{k}"] = boxes
        if dataset == "lasot":
            videos[f"s{k}"] = FakeVideo(read, flagged | zero, marked=flagged)
        else:  # TNL2K has no flags: its absent frames are those with an empty box
            videos[f"s{k}"] = FakeVideo(read, zero, marked=np.zeros(n, bool))
    auc, prec, norm = lasot_toolkit_oracle(results, raw, absents)
    ours = metrics.score_benchmark(dataset, results, videos)
    assert ours["rule"] == "lasot_toolkit"
    assert ours["success_auc"] == pytest.approx(auc, abs=1e-12)
    assert ours["precision"] == pytest.approx(prec, abs=1e-12)
    assert ours["norm_precision"] == pytest.approx(norm, abs=1e-12)
    # the two rules differ where the toolkit counts an invalid ground truth as a precision hit
    assert ours["precision"] != pytest.approx(metrics.score_benchmark(dataset, results, videos, rule="pytracking")["precision"])
    with pytest.raises(ValueError, match="not 'uav'"):
        metrics.score_benchmark(dataset, results, videos, rule="uav")
