"""Run trackers over a benchmark and score them with its toolkit's rule: the library behind
`python -m tanet_jax.evaluate` (results per configuration on disk, report.json, plots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tanet_jax.data.benchmarks import DEFAULT_SPLITS, DatasetError, Video, Warnings, read_benchmark
from tanet_jax.evaluation import metrics
from tanet_jax.evaluation.plots import plot_attributes, plot_curves, plot_timeline
from tanet_jax.evaluation.results import TrackerFolder, remove_results, write_got10k_package, write_text_atomic
from tanet_jax.evaluation.tracker_spec import TrackerSpec, provenance
from tanet_jax.frames import LazyFrames
from tanet_jax.geometry import rect_iou
from tanet_jax.tracking.build import make_tracker
from tanet_jax.tracking.run import run_sequence

KINDS = ("local", "joint")


def tracker_label(kind: str, attention: str) -> str:
    """Result name: 'local', or 'joint-<attention>'."""
    return "local" if kind == "local" else f"joint-{attention}"


def track_or_load(folder: TrackerFolder, spec: TrackerSpec, video: Video, predictor: Any,
                  force: bool) -> dict[str, Any]:
    """Boxes, confidences, global-search flags, times and fps of one sequence (kept on disk)."""
    if force:
        remove_results(folder, video.name)
    elif folder.has(video.name):
        return folder.load(video.name)
    tracker = make_tracker(spec.config, spec.attention, boxes=video.boxes, absent=video.absent,
                           predictor=predictor if spec.attention == "tanet" else None)
    result = run_sequence(tracker, LazyFrames(video.frames), video.boxes[0])
    folder.save(video.name, result.boxes, result.confidence, result.global_search, result.fps, result.times)
    return {"boxes": result.boxes, "confidence": result.confidence.tolist(),
            "global_search": result.global_search.tolist(), "fps": result.fps, "times": result.times.tolist()}


def _timeline(out: Path, label: str, video: Video, res: dict[str, Any], threshold: float) -> None:
    """IoU (where annotated) and confidence per frame, marking global searches."""
    boxes = np.asarray(res["boxes"], np.float64)
    keep = ~np.isnan(video.boxes).any(axis=1)
    iou_line = np.full(len(video), np.nan)
    iou_line[keep] = rect_iou(boxes[keep], video.boxes[keep])
    plot_timeline(out / "timelines" / label / f"{video.name}.png", iou_line, np.asarray(res["confidence"]),
                  np.asarray(res["global_search"], bool), threshold, f"{label} on {video.name}")


def load_predictor(spec: TrackerSpec, kinds: list[str]) -> Any:
    """The TANet predictor when a joint tracker uses it, else None (no model is loaded unasked)."""
    if spec.attention != "tanet" or "joint" not in kinds:
        return None
    from tanet_jax.inference import AttentionPredictor

    return AttentionPredictor.from_checkpoint(spec.checkpoint)


def _runs(kinds: list[str], specs: list[TrackerSpec]) -> list[TrackerSpec]:
    """The tracker configurations to run: local once, then one joint tracker per attention."""
    runs = [specs[0].for_kind("local")] if "local" in kinds else []
    if "joint" in kinds:
        runs += [s for s in specs if not (s.attention == "none" and runs)]
    return runs


def evaluate(dataset: str, root: Path, split: str | None, kinds: list[str], spec: TrackerSpec | list[TrackerSpec],
             out: Path, force: bool = False, timelines: bool = True, rule: str | None = None) -> dict[str, Any]:
    """Track every sequence with every tracker kind (joint: once per attention in `spec` when it is
    a list, side by side in one report and plot); write results, report, plots, timelines."""
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    spec = specs[0]
    split = DEFAULT_SPLITS[dataset] if split is None else split
    warnings = Warnings(skip_failed=True)
    videos = {v.name: v for v in read_benchmark(dataset, root, split, warnings)}
    failed = {f"read/{k}": v for k, v in warnings.failed.items()}
    predictors = {s.attention: load_predictor(s, kinds) for s in specs}
    out.mkdir(parents=True, exist_ok=True)
    package = dataset == "got10k" and split == "test"
    trackers: dict[str, Any] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for kind_spec in _runs(kinds, specs):
        kind = "local" if kind_spec.attention == "none" else "joint"
        label = tracker_label(kind, kind_spec.attention)
        predictor = predictors.get(kind_spec.attention)
        folder = TrackerFolder(out, label, kind_spec.record(), kind_spec.digest())
        results: dict[str, dict[str, Any]] = {}
        for video in tqdm(list(videos.values()), desc=label, unit="seq"):
            try:
                results[video.name] = track_or_load(folder, kind_spec, video, predictor, force)
            except (DatasetError, ValueError) as e:
                failed[f"{label}/{video.name}"] = str(e)
                continue
            if timelines and not package:
                _timeline(out, label, video, results[video.name], float(spec.config["joint"]["threshold"]))
        entry: dict[str, Any] = {"results": str(folder.path), **kind_spec.record(),
                                 "upper_bound": kind_spec.attention == "groundtruth",
                                 "fps": float(np.mean([r["fps"] for r in results.values()])) if results else None}
        if package:
            pkg = {n: (np.asarray(r["boxes"]), np.asarray(r.get("times") or [1.0 / r["fps"]] * len(r["boxes"])))
                   for n, r in results.items()}
            if pkg:
                entry["package"] = str(write_got10k_package(folder.path / "got10k_test", pkg,
                                                            out / f"{label}_got10k_test.zip"))
        elif results:
            scores = metrics.score_benchmark(dataset, {n: r["boxes"] for n, r in results.items()}, videos, rule)
            for n, r in results.items():
                scores["per_sequence"][n]["fps"] = float(r["fps"])
                scores["per_sequence"][n]["global_searches"] = int(np.sum(r["global_search"]))
            entry.update(scores)
            attributes = metrics.attribute_scores(scores, videos)
            if attributes:
                entry["attributes"] = attributes
            curves[label] = (np.asarray(scores["success_curve"]),
                             np.asarray(scores["precision_curve"]) if "precision_curve" in scores else None)
        trackers[label] = entry
    report = {"benchmark": dataset, "split": split, "root": str(root), "rule": rule or metrics.RULES[dataset],
              "scored": not package, "sequences": len(videos), "trackers": trackers, "failed": failed,
              "missing": list(warnings.missing), "provenance": provenance()}
    write_text_atomic(out / "report.json", json.dumps(report, indent=2))
    if curves:
        plot_curves(out, curves, f"OPE on {dataset} {split}")
    by_attribute = {k: v["attributes"] for k, v in trackers.items() if "attributes" in v}
    if by_attribute:
        plot_attributes(out / "attributes_plot.png", by_attribute)
    return report
