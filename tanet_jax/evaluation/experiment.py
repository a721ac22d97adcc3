"""Run trackers over a benchmark and score them with its toolkit's rule: the library behind
`python -m tanet_jax.evaluate` (results per configuration on disk, report.json, plots).

Protocol: every sequence is tracked from `starts` starts (tanet_jax.evaluation.starts: start 0
from the annotated first box, the others from seeded jitters of it); the benchmark's own scores
are those of start 0; each tracker also gets the mean over starts with a 95% bootstrap interval
over sequences, and every tracker its paired difference to a baseline tracker with its interval
(tanet_jax.evaluation.stats). Scores are always computed from the result files on disk, so a
first run and a rerun report the same numbers. report.json keeps every tracker evaluated into
the same folder under the same protocol and code, merged by tracker label."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from tanet_jax.data.benchmarks import DEFAULT_SPLITS, DatasetError, Video, Warnings, read_benchmark
from tanet_jax.evaluation import metrics, stats
from tanet_jax.evaluation.plots import plot_attributes, plot_curves, plot_timeline
from tanet_jax.evaluation.results import TrackerFolder, remove_results, write_got10k_package, write_text_atomic
from tanet_jax.evaluation.starts import JITTER, run_name, start_box
from tanet_jax.evaluation.tracker_spec import TrackerSpec, provenance
from tanet_jax.frames import LazyFrames
from tanet_jax.geometry import rect_iou
from tanet_jax.tracking.build import make_tracker
from tanet_jax.tracking.run import run_sequence

KINDS = ("local", "joint")
POOLED_RULES = ("got10k",)  # scores pooled over frames: a sequence weighs by its scored frames
HEADLINE = {"got10k": ("ao", "AO")}  # the printed score per rule; others: success AUC


def score_keys(rule: str) -> tuple[str, ...]:
    """The overall scores a rule reports (each gets a mean over starts and an interval)."""
    return ("ao", "sr50", "sr75") if rule in POOLED_RULES else ("success_auc", "precision", "norm_precision")


def tracker_label(kind: str, attention: str) -> str:
    """Result name: 'local', or 'joint-<attention>'."""
    return "local" if kind == "local" else f"joint-{attention}"


def _current(result: Mapping[str, Any], video: Video, init: np.ndarray) -> bool:
    """Whether results on disk were tracked on this video from this first box (annotation edits,
    another frame range or another start are tracked again)."""
    saved = result.get("init")
    return (saved is not None and len(result["boxes"]) == len(video)
            and np.allclose(np.asarray(saved, np.float64), init, rtol=0, atol=1e-9))


def track_or_load(folder: TrackerFolder, spec: TrackerSpec, video: Video, predictor: Any,
                  force: bool, start: int = 0) -> dict[str, Any]:
    """Boxes, confidences, global-search flags, times and fps of one start of one sequence, as
    read back from its files on disk (tracked and written first when they are not there)."""
    name, init = run_name(video.name, start), start_box(video.boxes[0], start)
    if force:
        remove_results(folder, name)
    elif folder.has(name):
        loaded = folder.load(name)
        if _current(loaded, video, init):
            return loaded
    tracker = make_tracker(spec.config, spec.attention, boxes=video.boxes, absent=video.absent,
                           predictor=predictor if spec.attention == "tanet" else None)
    result = run_sequence(tracker, LazyFrames(video.frames), init)
    folder.save(name, result.boxes, result.confidence, result.global_search, result.fps, result.times, init=init)
    return folder.load(name)


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


def _label_of(spec: TrackerSpec) -> str:
    """The label a run spec reports under."""
    return tracker_label("local" if spec.attention == "none" else "joint", spec.attention)


def _weights(per_sequence: Mapping[str, Mapping[str, Any]], names: Sequence[str], rule: str) -> list[float] | None:
    """Frames per sequence where the rule pools frames (GOT-10k), else None (sequences weigh alike)."""
    return [float(per_sequence[n]["frames"]) for n in names] if rule in POOLED_RULES else None


def over_starts(scores_by_start: Sequence[Mapping[str, Any]], rule: str) -> dict[str, Any]:
    """Per-start scores, each sequence's mean over starts, their mean and its bootstrap interval
    over sequences (report.json fields of one tracker)."""
    keys = score_keys(rule)
    first = scores_by_start[0]["per_sequence"]
    names = list(first)
    per_sequence: dict[str, dict[str, Any]] = {}
    for n in names:
        per_sequence[n] = {k: float(np.mean([s["per_sequence"][n][k] for s in scores_by_start])) for k in keys}
        per_sequence[n]["frames"] = first[n]["frames"]
    weights = _weights(first, names, rule)
    mean, interval = {}, {}
    for k in keys:
        values = [per_sequence[n][k] for n in names]
        mean[k] = stats.weighted_mean(values, weights)
        interval[k] = list(stats.bootstrap_interval(values, weights))
    return {"per_start": [{k: float(s[k]) for k in keys} for s in scores_by_start], "mean_over_starts": mean,
            "interval": interval, "per_sequence_over_starts": per_sequence}


def differences(trackers: Mapping[str, Mapping[str, Any]], baseline: str, rule: str) -> dict[str, Any]:
    """Each tracker's paired difference to the baseline on the sequences both scored (mean over
    starts per sequence), with its bootstrap interval."""
    base = trackers[baseline]["per_sequence_over_starts"]
    out: dict[str, Any] = {}
    for label, entry in trackers.items():
        if label == baseline or "per_sequence_over_starts" not in entry:
            continue
        other = entry["per_sequence_over_starts"]
        names = [n for n in base if n in other]
        if not names:
            continue
        weights = _weights(base, names, rule)
        out[label] = {k: stats.paired_difference([other[n][k] for n in names], [base[n][k] for n in names], weights)
                      for k in score_keys(rule)}
    return out


def _identity(dataset: str, split: str, root: Path, rule: str, starts: int) -> dict[str, Any]:
    """What trackers of one report must share to sit side by side (and be differenced)."""
    return {"benchmark": dataset, "split": split, "root": str(Path(root).resolve()), "rule": rule, "starts": starts,
            "jitter": JITTER if starts > 1 else None}


def earlier_trackers(path: Path, identity: Mapping[str, Any], code: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Tracker entries (and their failures) of an earlier report.json in the same folder that this
    report keeps: same benchmark, split, root, rule and starts, tracked by the same code.
    Anything else is left out with a note on stderr (its result folders stay on disk)."""
    if not path.is_file():
        return {}, {}
    try:
        earlier = json.loads(path.read_text())
        protocol = {k: earlier[k] for k in ("benchmark", "split", "rule")} | {
            "root": str(Path(earlier["root"]).resolve())} | {k: earlier["protocol"][k] for k in ("starts", "jitter")}
        entries = dict(earlier["trackers"])
    except (ValueError, KeyError, TypeError):
        print(f"note: {path}: not a report of this version; it is replaced", file=sys.stderr)
        return {}, {}
    if protocol != dict(identity):
        print(f"note: {path}: replacing a report of another benchmark, split, root, rule or number of starts "
              f"({', '.join(f'{k} {v}' for k, v in protocol.items() if identity[k] != v)})", file=sys.stderr)
        return {}, {}
    kept = {}
    for label, entry in entries.items():
        if entry.get("tracker_code_sha256") == code:
            kept[label] = entry
        else:
            print(f"note: {path}: {label} left out: tracked by other code (evaluate it again to include it)",
                  file=sys.stderr)
    failed = {k: v for k, v in dict(earlier.get("failed", {})).items() if k.split("/")[0] in kept}
    return kept, failed


def _score(dataset: str, rule: str | None, results_by_start: list[dict[str, dict[str, Any]]],
           videos: Mapping[str, Video]) -> dict[str, Any]:
    """Report fields of one scored tracker: start 0's scores (the benchmark's own protocol), then
    the spread over starts."""
    by_start = [metrics.score_benchmark(dataset, {n: r["boxes"] for n, r in res.items()}, videos, rule)
                for res in results_by_start]
    scores = by_start[0]
    for n, r in results_by_start[0].items():
        scores["per_sequence"][n]["fps"] = float(r["fps"])
        scores["per_sequence"][n]["global_searches"] = int(np.sum(r["global_search"]))
    scores.update(over_starts(by_start, scores["rule"]))
    attributes = metrics.attribute_scores(scores, videos)
    if attributes:
        scores["attributes"] = attributes
    return scores


def evaluate(dataset: str, root: Path, split: str | None, kinds: list[str], spec: TrackerSpec | list[TrackerSpec],
             out: Path, force: bool = False, timelines: bool = True, rule: str | None = None, starts: int = 1,
             baseline: str | None = None) -> dict[str, Any]:
    """Track every sequence from `starts` starts with every tracker kind (joint: once per
    attention in `spec` when it is a list), score each from its files, merge into OUT/report.json
    with earlier trackers of the same protocol, and write plots and timelines."""
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    spec = specs[0]
    split = DEFAULT_SPLITS[dataset] if split is None else split
    if starts < 1:
        raise ValueError(f"--starts {starts}: give at least 1")
    package = dataset == "got10k" and split == "test"
    if package and starts > 1:
        raise ValueError(f"--starts {starts}: GOT-10k's test split is scored by the server from one start; use 1")
    rule = rule or metrics.RULES[dataset]
    runs = _runs(kinds, specs)
    earlier, earlier_failed = earlier_trackers(out / "report.json", _identity(dataset, split, root, rule, starts),
                                               spec.code)
    labels = list(earlier) + [_label_of(s) for s in runs if _label_of(s) not in earlier]
    if baseline is not None and baseline not in labels:
        raise ValueError(f"--baseline {baseline}: not a tracker of this report (one of {', '.join(labels)})")
    warnings = Warnings(skip_failed=True)
    videos = {v.name: v for v in read_benchmark(dataset, root, split, warnings)}
    failed = {**earlier_failed, **{f"read/{k}": v for k, v in warnings.failed.items()}}
    predictors = {s.attention: load_predictor(s, kinds) for s in specs}
    out.mkdir(parents=True, exist_ok=True)
    trackers: dict[str, Any] = dict(earlier)
    for kind_spec in runs:
        label = _label_of(kind_spec)
        predictor = predictors.get(kind_spec.attention)
        folder = TrackerFolder(out, label, kind_spec.record(), kind_spec.digest())
        results: list[dict[str, dict[str, Any]]] = [{} for _ in range(starts)]
        for key in [k for k in failed if k.startswith(f"{label}/")]:
            del failed[key]  # this run decides again
        for video in tqdm(list(videos.values()), desc=label, unit="seq"):
            try:
                runs_of_video = [track_or_load(folder, kind_spec, video, predictor, force, j) for j in range(starts)]
            except (DatasetError, ValueError) as e:
                failed[f"{label}/{video.name}"] = str(e)
                continue
            for j, res in enumerate(runs_of_video):
                results[j][video.name] = res
            if timelines and not package:
                _timeline(out, label, video, runs_of_video[0], float(spec.config["joint"]["threshold"]))
        entry: dict[str, Any] = {"results": str(folder.path), **kind_spec.record(),
                                 "upper_bound": kind_spec.attention == "groundtruth",
                                 "fps": float(np.mean([r["fps"] for r in results[0].values()])) if results[0] else None}
        if package:
            pkg = {n: (np.asarray(r["boxes"]), np.asarray(r.get("times") or [1.0 / r["fps"]] * len(r["boxes"])))
                   for n, r in results[0].items()}
            if pkg:
                entry["package"] = str(write_got10k_package(folder.path / "got10k_test", pkg,
                                                            out / f"{label}_got10k_test.zip"))
        elif results[0]:
            entry.update(_score(dataset, rule, results, videos))
        trackers[label] = entry  # an earlier entry of the label keeps its place
    scored = [k for k, v in trackers.items() if "per_sequence_over_starts" in v]
    base = baseline or (scored[0] if scored else None)
    report = {"benchmark": dataset, "split": split, "root": str(root), "rule": rule, "scored": not package,
              "sequences": len(videos),
              "protocol": {"starts": starts, "jitter": JITTER if starts > 1 else None,
                           "interval": f"{stats.LEVEL:.0%} percentile bootstrap over sequences of each sequence's "
                                       f"mean over starts ({stats.RESAMPLES} resamples, seed {stats.SEED})"},
              "trackers": trackers, "baseline": base,
              "differences": differences(trackers, base, rule) if base in scored else {},
              "failed": failed, "missing": list(warnings.missing), "provenance": provenance()}
    write_text_atomic(out / "report.json", json.dumps(report, indent=2))
    _plots(out, trackers, f"OPE on {dataset} {split}")
    return report


def _plots(out: Path, trackers: Mapping[str, Mapping[str, Any]], title: str) -> None:
    """Success/precision plots and the attribute plot of every scored tracker in the report."""
    curves = {label: (np.asarray(e["success_curve"]),
                      np.asarray(e["precision_curve"]) if "precision_curve" in e else None)
              for label, e in trackers.items() if "success_curve" in e}
    if curves:
        plot_curves(out, curves, title)
    by_attribute = {k: v["attributes"] for k, v in trackers.items() if "attributes" in v}
    if by_attribute:
        plot_attributes(out / "attributes_plot.png", by_attribute)
