"""Benchmark scores computed exactly as each benchmark's own toolkit computes them.

Rules (`RULES` maps a benchmark to one; `score_benchmark` applies it):

- ``otb`` (OTB, DTB70): the got10k toolkit's `ExperimentOTB.report`. The first result box is
  replaced by the ground truth; every frame counts. Per sequence: success curve = fraction of
  frames with IoU > t for 21 thresholds t in [0, 1]; precision curve = fraction with centre error
  (centre x + (w - 1) / 2) <= t px, t = 0..50. Curves are averaged over sequences; success AUC
  is the mean of the averaged success curve, precision its value at 20 px.
- ``uav`` (UAV123, UAV123@10fps): got10k's `ExperimentUAV123`: as ``otb``, but frames whose
  ground truth is NaN (target fully occluded or out of view) are left out of each sequence.
- ``got10k`` (GOT-10k val/train): got10k's `ExperimentGOT10k.report`: IoU with both boxes
  clipped to the image, frame 0 and frames with cover 0 (absent) left out, and the IoUs of all
  sequences POOLED: AO = mean IoU over all those frames, SR0.50 / SR0.75 = fraction above 0.5 /
  0.75 (the evaluation server's SR0.75), success curve over 101 thresholds.
- ``lasot_toolkit`` (LaSOT and TNL2K, the default): the official MATLAB toolkits
  (HengLan/LaSOT_Evaluation_Toolkit and its copy wangxiao5791509/TNL2K_evaluation_toolkit,
  `utils/calc_seq_err_robust.m` + `utils/eval_tracker.m`), which gave the published numbers. A
  result box of zero or negative width or height takes the previous result box; the first result
  box is replaced by the ground truth; ABSENT frames are removed from the numerators but every
  frame stays in the denominator (so an absent frame is a miss for success, precision and
  normalised precision alike). Absent = the frames LaSOT flags fully occluded or out of view
  (`full_occlusion.txt`, `out_of_view.txt`), or for TNL2K the frames its toolkit's `absent/NAME.txt`
  flags (0,0,0,0 boxes only where that file is missing). Of the
  other frames, one whose ground truth is not all positive (x, y, w and h > 0: a box touching the
  left or top border counts too) scores IoU -1 (a miss) and centre error -1 (a HIT at every
  threshold). IoU uses the 1-pixel convention (x + w - 1), centre x + (w - 1) / 2, normalised
  centre error divides centres by the ground-truth width and height. Thresholds: IoU 0:0.05:1,
  centre 0:50 px, normalised 0:0.01:0.5; curves averaged over sequences; AUC = mean of the
  success curve, precision at index 20 (20 px, 0.20).
- ``pytracking`` (selectable for LaSOT and TNL2K, e.g. `--rule pytracking`): pytracking's
  `analysis/extract_results.py` (`calc_seq_err_robust`, `extract_results` with its default
  `exclude_invalid_frames=False`), which reproduces the toolkit's success AUC (but for boxes
  with x or y = 0) and differs in precision. The first result box is replaced by the ground
  truth; a zero-size result box takes the previous one. A frame is valid when the ground-truth box
  has positive width and height and (LaSOT) the target is visible. Every frame stays in the
  denominator: on an invalid frame IoU is -1 (a miss) and centre error infinite (a miss);
  normalised centre error is -1 (a HIT) on an invalid frame, except where LaSOT marks the target
  invisible (infinite, a miss). Same thresholds and averaging as above.

`norm_precision` under the ``otb`` and ``uav`` rules (not part of those toolkits) is LaSOT's
normalised precision on the same frames.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

import numpy as np

from tanet_jax.geometry import center_error, normalized_center_error, rect_iou, toolkit_centers

NBINS_IOU = 21
NBINS_CE = 51
NBINS_NORM = 51
NBINS_GOT10K = 101
RULES = {"otb": "otb", "dtb70": "otb", "uav123": "uav", "uav123_10fps": "uav", "got10k": "got10k",
         "lasot": "lasot_toolkit", "tnl2k": "lasot_toolkit"}
OTHER_RULES = {"lasot": ("pytracking",), "tnl2k": ("pytracking",)}  # selectable instead of the default

__all__ = ["rect_iou", "center_error", "normalized_center_error", "centers", "success_curve", "precision_curve",
           "score_benchmark", "attribute_scores", "RULES", "OTHER_RULES"]


def centers(boxes: np.ndarray) -> np.ndarray:
    """The toolkit's box centre (see tanet_jax.geometry.toolkit_centers)."""
    return toolkit_centers(boxes)


class Annotated(Protocol):
    """What scoring needs of a video (tanet_jax.data.benchmarks.Video has it)."""

    boxes: np.ndarray
    absent: np.ndarray
    marked: np.ndarray | None
    image_size: tuple[int, int]


def success_curve(ious: np.ndarray, nbins: int = NBINS_IOU) -> np.ndarray:
    """Fraction of frames with IoU above each of `nbins` thresholds in [0, 1]."""
    thr = np.linspace(0, 1, nbins)[None, :]
    return np.mean(np.asarray(ious, float)[:, None] > thr, axis=0)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Fraction of frames with centre error at most each threshold (default 0..50 px)."""
    thr = np.arange(0, NBINS_CE) if thresholds is None else thresholds
    return np.mean(np.asarray(errors, float)[:, None] <= thr[None, :], axis=0)


def _check(boxes: np.ndarray, anno: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    boxes, anno = np.array(boxes, np.float64, copy=True), np.asarray(anno, np.float64)
    if boxes.shape != anno.shape:
        raise ValueError(f"{name}: {len(boxes)} result boxes {boxes.shape} for {len(anno)} annotated frames {anno.shape}")
    if np.isnan(boxes).any() or (boxes[:, 2:] < 0).any():
        raise ValueError(f"{name}: result boxes hold NaN or negative sizes")
    return boxes, anno


def _one_pass(boxes: np.ndarray, anno: np.ndarray, drop_nan: bool) -> dict[str, Any]:
    """got10k's ExperimentOTB (drop_nan=False) or ExperimentUAV123 (True) curves of one sequence."""
    boxes[0] = anno[0]
    if drop_nan:
        keep = ~np.isnan(anno).any(axis=1)
        boxes, anno = boxes[keep], anno[keep]
    ious, ce = rect_iou(boxes, anno), center_error(boxes, anno)
    norm = normalized_center_error(boxes, anno)
    return {"success_curve": success_curve(ious), "precision_curve": precision_curve(ce),
            "norm_precision_curve": precision_curve(norm, np.linspace(0, 0.5, NBINS_NORM)), "frames": len(anno)}


def _lasot(boxes: np.ndarray, anno: np.ndarray, visible: np.ndarray | None) -> dict[str, Any]:
    """pytracking's calc_seq_err_robust + extract_results for one sequence (see module docstring)."""
    for i in range(1, len(boxes)):  # the benchmarks write absent boxes as 0,0,0,0 (never NaN): always
        if (boxes[i, 2:] == 0).any():
            boxes[i] = boxes[i - 1]
    boxes[0] = anno[0]
    with np.errstate(invalid="ignore"):
        valid = (anno[:, 2] > 0) & (anno[:, 3] > 0)
    if visible is not None:
        valid &= visible
    safe = np.where(valid[:, None], anno, boxes)  # invalid rows are overwritten below
    tl = np.maximum(boxes[:, :2], safe[:, :2])  # pytracking's IoU: 1-pixel convention, no eps, no clip
    br = np.minimum(boxes[:, :2] + boxes[:, 2:] - 1.0, safe[:, :2] + safe[:, 2:] - 1.0)
    inter = np.prod(np.maximum(br - tl + 1.0, 0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ious = inter / (np.prod(boxes[:, 2:], axis=1) + np.prod(safe[:, 2:], axis=1) - inter)
    ce = center_error(boxes, safe)
    norm = normalized_center_error(boxes, safe)
    ious[~valid], ce[~valid], norm[~valid] = -1.0, np.inf, -1.0
    if visible is not None:
        norm[~visible] = np.inf
        ce[~visible] = np.inf
    n = len(anno)
    thr_iou = np.arange(0.0, 1.0 + 0.05, 0.05)
    return {"success_curve": np.sum(ious[:, None] > thr_iou[None], axis=0) / n,
            "precision_curve": np.sum(ce[:, None] <= np.arange(0, 51)[None], axis=0) / n,
            "norm_precision_curve": np.sum(norm[:, None] <= (np.arange(0, 51) / 100.0)[None], axis=0) / n,
            "ao": float(np.mean(ious[valid])) if valid.any() else float("nan"), "frames": int(valid.sum())}


def _lasot_toolkit(boxes: np.ndarray, anno: np.ndarray, absent: np.ndarray) -> dict[str, Any]:
    """The official LaSOT/TNL2K MATLAB toolkit's curves of one sequence (see module docstring)."""
    n = len(anno)
    for i in range(1, n):
        if boxes[i, 2] <= 0 or boxes[i, 3] <= 0:
            boxes[i] = boxes[i - 1]
    boxes[0] = anno[0]
    keep = ~absent
    b, a = boxes[keep], anno[keep]
    with np.errstate(invalid="ignore"):
        idx = np.all(a > 0, axis=1)  # NaN (an empty box the reader found) is not > 0
    safe = np.where(idx[:, None], a, b)
    tl = np.maximum(b[:, :2], safe[:, :2])
    br = np.minimum(b[:, :2] + b[:, 2:] - 1.0, safe[:, :2] + safe[:, 2:] - 1.0)
    inter = np.prod(np.maximum(br - tl + 1.0, 0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cover = np.where(idx, inter / (np.prod(b[:, 2:], axis=1) + np.prod(safe[:, 2:], axis=1) - inter), -1.0)
        ce = np.where(idx, center_error(b, safe), -1.0)
        cen = (toolkit_centers(b) - toolkit_centers(safe)) / safe[:, 2:]
        norm = np.where(idx, np.sqrt(np.sum(cen**2, axis=1)), -1.0)
    denom = n + np.finfo(float).eps
    thr_iou = np.arange(0, 21) * 0.05
    return {"success_curve": np.sum(cover[:, None] > thr_iou[None], axis=0) / denom,
            "precision_curve": np.sum(ce[:, None] <= np.arange(0, 51)[None], axis=0) / denom,
            "norm_precision_curve": np.sum(norm[:, None] <= (np.arange(0, 51) / 100.0)[None], axis=0) / denom,
            "frames": int(keep.sum())}


def _got10k_ious(boxes: np.ndarray, video: Annotated) -> np.ndarray:
    """IoUs GOT-10k scores: frames after the first with cover > 0, boxes clipped to the image."""
    h, w = video.image_size
    ious = rect_iou(boxes[1:], np.asarray(video.boxes, np.float64)[1:], bound=(w, h))
    return ious[~np.asarray(video.absent, bool)[1:]]


def score_benchmark(benchmark: str, results: Mapping[str, np.ndarray], videos: Mapping[str, Annotated],
                    rule: str | None = None) -> dict[str, Any]:
    """Overall and per-sequence scores of result boxes {name: (N, 4)} under the benchmark's rule
    (or `rule`, one of OTHER_RULES[benchmark])."""
    if rule is not None and rule != RULES[benchmark] and rule not in OTHER_RULES.get(benchmark, ()):
        raise ValueError(f"{benchmark} is scored by {RULES[benchmark]!r}"
                         + "".join(f" or {r!r}" for r in OTHER_RULES.get(benchmark, ())) + f", not {rule!r}")
    rule = rule or RULES[benchmark]
    names = [n for n in videos if n in results]
    if not names:
        raise ValueError("no sequence to score")
    per: dict[str, dict[str, Any]] = {}
    if rule == "got10k":
        pooled = []
        for n in names:
            boxes, _ = _check(results[n], videos[n].boxes, n)
            ious = _got10k_ious(boxes, videos[n])
            pooled.append(ious)
            per[n] = {"ao": float(np.mean(ious)) if len(ious) else float("nan"),
                      "sr50": float(np.mean(ious > 0.5)) if len(ious) else float("nan"),
                      "sr75": float(np.mean(ious > 0.75)) if len(ious) else float("nan"), "frames": int(len(ious))}
        ious = np.concatenate(pooled)
        return {"rule": rule, "ao": float(np.mean(ious)), "sr50": float(np.mean(ious > 0.5)),
                "sr75": float(np.mean(ious > 0.75)), "success_curve": success_curve(ious, NBINS_GOT10K).tolist(),
                "frames": int(len(ious)), "per_sequence": per}
    curves = {}
    for n in names:
        boxes, anno = _check(results[n], videos[n].boxes, n)
        if rule in ("otb", "uav"):
            c = _one_pass(boxes, anno, drop_nan=rule == "uav")
        elif rule == "lasot_toolkit":
            marked = getattr(videos[n], "marked", None)
            if benchmark == "lasot" and marked is not None:
                absent = np.asarray(marked, bool)
            else:
                absent = np.asarray(videos[n].absent, bool)
            c = _lasot_toolkit(boxes, anno, absent)
        else:
            marked = getattr(videos[n], "marked", None)
            visible = None if benchmark == "tnl2k" or marked is None else ~np.asarray(marked, bool)
            c = _lasot(boxes, anno, visible)
        curves[n] = c
        per[n] = {"success_auc": float(np.mean(c["success_curve"])), "precision": float(c["precision_curve"][20]),
                  "norm_precision": float(c["norm_precision_curve"][20]), "frames": int(c["frames"])}
    succ = np.mean([curves[n]["success_curve"] for n in names], axis=0)
    prec = np.mean([curves[n]["precision_curve"] for n in names], axis=0)
    norm = np.mean([curves[n]["norm_precision_curve"] for n in names], axis=0)
    return {"rule": rule, "success_auc": float(np.mean(succ)), "precision": float(prec[20]),
            "norm_precision": float(norm[20]), "success_curve": succ.tolist(), "precision_curve": prec.tolist(),
            "per_sequence": per}


def attribute_scores(scores: Mapping[str, Any], videos: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Success AUC per attribute label: the AUC of the success curve averaged over the scored
    sequences with that label (equal to the mean of their AUCs), as the toolkits' attribute plots."""
    per = scores.get("per_sequence", {})
    out: dict[str, dict[str, Any]] = {}
    for name, video in videos.items():
        if name in per and "success_auc" in per[name]:
            for attr in getattr(video, "attributes", ()):
                out.setdefault(attr, {"sequences": []})["sequences"].append(name)
    for attr, entry in out.items():
        entry["success_auc"] = float(np.mean([per[n]["success_auc"] for n in entry["sequences"]]))
        entry["sequences"] = len(entry["sequences"])
    return dict(sorted(out.items()))

