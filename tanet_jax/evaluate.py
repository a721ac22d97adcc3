"""Benchmark evaluation of local and joint tracking (python -m tanet_jax.evaluate).

  python -m tanet_jax.evaluate --dataset otb --root ../shared/data/sequences --trackers local,joint \\
      --attention groundtruth --out results/otb

Writes, in the got10k toolkit's layout, OUT/<tracker>/<sequence>.txt (one x,y,w,h line per
frame, comma separated), OUT/report.json ({tracker: {success_auc, precision, norm_precision,
ao, sr50, sr75, fps, per_sequence, attention, upper_bound}}), success and precision plots
(OUT/success_plot.png, OUT/precision_plot.png) and per-sequence IoU / confidence timelines that
mark the frames where global search fired (OUT/timelines/<tracker>/<sequence>.png).
`groundtruth` attention uses the annotations: an upper bound for the switch, labelled so.
Sequences already tracked (result file present) are reused; a failing sequence is reported and
the others still count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tanet_jax.weights import CheckpointError
from tanet_jax.data.benchmarks import DatasetError, Video, read_benchmark
from tanet_jax.evaluation import metrics
from tanet_jax.evaluation.plots import plot_curves, plot_timeline
from tanet_jax.predict import DEFAULT_CHECKPOINT, LazyFrames
from tanet_jax.tracking.attention import GroundTruthAttention, NoAttention, TanetAttention
from tanet_jax.tracking.cf import CorrelationFilterTracker
from tanet_jax.tracking.joint import JointParams, JointTracker
from tanet_jax.tracking.run import run_sequence


def tracker_label(kind: str, attention: str) -> str:
    """Result folder name: 'local', or 'joint-<attention>'."""
    return "local" if kind == "local" else f"joint-{attention}"


def make_tracker(kind: str, attention: str, video: Video, predictor: Any, params: JointParams) -> JointTracker:
    """A fresh tracker for one sequence."""
    if kind == "local" or attention == "none":
        provider = NoAttention()
    elif attention == "groundtruth":
        provider = GroundTruthAttention(video.boxes, video.absent)
    else:
        provider = TanetAttention(predictor)
    return JointTracker(CorrelationFilterTracker(), provider, params)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def track_or_load(kind: str, attention: str, video: Video, out: Path, predictor: Any,
                  params: JointParams) -> dict[str, Any]:
    """Boxes, confidences, global-search flags and fps of one sequence (cached on disk)."""
    folder = out / tracker_label(kind, attention)
    folder.mkdir(parents=True, exist_ok=True)
    record, meta = folder / f"{video.name}.txt", folder / f"{video.name}_meta.json"
    if record.exists() and meta.exists():
        data = json.loads(meta.read_text())
        return {"boxes": np.loadtxt(record, delimiter=",", ndmin=2), **data}
    tracker = make_tracker(kind, attention, video, predictor, params)
    result = run_sequence(tracker, LazyFrames(video.frames), video.boxes[0])
    data = {"confidence": result.confidence.tolist(), "global_search": result.global_search.tolist(),
            "fps": result.fps}
    _write_atomic(meta, json.dumps(data))
    _write_atomic(record, "\n".join(",".join(f"{v:.3f}" for v in b) for b in result.boxes) + "\n")
    return {"boxes": result.boxes, **data}


def evaluate(dataset: str, root: Path, split: str, kinds: list[str], attention: str, out: Path,
             checkpoint: str | None, params: JointParams = JointParams()) -> dict[str, Any]:
    """Track every sequence with every tracker kind; write results, report, plots, timelines."""
    videos = list(read_benchmark(dataset, root, split))
    predictor = None
    if attention == "tanet" and "joint" in kinds:
        from tanet_jax.inference import AttentionPredictor

        predictor = AttentionPredictor.from_checkpoint(checkpoint or DEFAULT_CHECKPOINT)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    failures: list[str] = []
    for kind in kinds:
        label = tracker_label(kind, attention)
        per_sequence: dict[str, Any] = {}
        succ_curves, prec_curves, fps = [], [], []
        for video in tqdm(videos, desc=label, unit="seq"):
            try:
                res = track_or_load(kind, attention, video, out, predictor, params)
            except (DatasetError, ValueError) as e:
                failures.append(f"{label}/{video.name}: {e}")
                continue
            boxes = np.asarray(res["boxes"], np.float64)
            skip_first = dataset == "got10k"
            scores = metrics.sequence_metrics(boxes, video.boxes, valid=~video.absent,
                                              image_size=video.image_size, skip_first=skip_first)
            scores["fps"] = float(res["fps"])
            scores["global_searches"] = int(np.sum(res["global_search"]))
            per_sequence[video.name] = scores
            keep = ~video.absent & ~np.isnan(video.boxes).any(axis=1)
            succ_curves.append(metrics.success_curve(metrics.rect_iou(boxes[keep], video.boxes[keep])))
            prec_curves.append(metrics.precision_curve(metrics.center_error(boxes[keep], video.boxes[keep])))
            fps.append(float(res["fps"]))
            iou_line = np.full(len(video), np.nan)
            iou_line[keep] = metrics.rect_iou(boxes[keep], video.boxes[keep])
            plot_timeline(out / "timelines" / label / f"{video.name}.png", iou_line,
                          np.asarray(res["confidence"]), np.asarray(res["global_search"], bool),
                          params.threshold, f"{label} on {video.name}")
        if not per_sequence:
            continue
        names = list(per_sequence)
        mean = lambda k: float(np.mean([per_sequence[n][k] for n in names]))
        report[label] = {
            "success_auc": mean("success_auc"), "precision": mean("precision"),
            "norm_precision": mean("norm_precision"), "ao": mean("ao"), "sr50": mean("sr50"),
            "sr75": mean("sr75"), "fps": float(np.mean(fps)), "per_sequence": per_sequence,
            "attention": "none" if kind == "local" else attention,
            "upper_bound": kind == "joint" and attention == "groundtruth",
        }
        curves[label] = (np.mean(succ_curves, axis=0), np.mean(prec_curves, axis=0))  # the toolkit's averaging
    if failures:
        report["_failures"] = failures
    _write_atomic(out / "report.json", json.dumps(report, indent=2))
    if curves:
        plot_curves(out, curves)
    return report


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m tanet_jax.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=("otb", "got10k", "lasot", "tnl2k"))
    parser.add_argument("--root", required=True, help="the benchmark's folder (otb: any subset of sequences)")
    parser.add_argument("--split", default="all", help="got10k: train/val/test; lasot: train/test/all")
    parser.add_argument("--trackers", default="local,joint", help="comma-separated: local, joint")
    parser.add_argument("--attention", default="tanet", choices=("tanet", "groundtruth", "none"))
    parser.add_argument("--checkpoint", help=f"generator checkpoint for tanet attention (default {DEFAULT_CHECKPOINT})")
    parser.add_argument("--threshold", type=float, default=JointParams.threshold,
                        help="global search when the previous confidence is under this")
    parser.add_argument("--every", type=int, default=0, help="also search globally every k frames")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.trackers.split(",") if k.strip()]
    if not kinds or any(k not in ("local", "joint") for k in kinds):
        parser.error(f"--trackers takes local and/or joint, got {args.trackers!r}")
    try:
        report = evaluate(args.dataset, Path(args.root), args.split, kinds, args.attention, Path(args.out),
                          args.checkpoint, JointParams(threshold=args.threshold, every=args.every))
    except (CheckpointError, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for label, r in report.items():
        if label.startswith("_"):
            continue
        bound = " (upper bound)" if r["upper_bound"] else ""
        print(f"{label:24s} AUC {r['success_auc']:.3f}  P@20 {r['precision']:.3f}  nP {r['norm_precision']:.3f}  "
              f"AO {r['ao']:.3f}  SR50 {r['sr50']:.3f}  {r['fps']:.1f} fps{bound}")
    for line in report.get("_failures", []):
        print(f"failed: {line}", file=sys.stderr)
    return 1 if report.get("_failures") else 0


if __name__ == "__main__":
    sys.exit(main())
