"""Does the tracker know when it is lost? ROC-AUC of its reported confidence separating frames it
tracks well (IoU > 0.5) from frames where it is lost (IoU < 0.1), over every frame of the given
roots (frame 0 and frames without ground truth left out; frames in between are neither).

The tracker is the local tracker with the default config (--config FILE, --config.SECTION.KEY=VALUE
and --attention change it); its confidence is what tanet_jax.tracking.joint.JointTracker reports
per frame (relative to the frames tracked so far) and what the joint tracker's threshold acts on. Reported per sequence,
per root (frames pooled) and overall (all frames pooled), with how the configured thresholds
(joint.threshold, joint.update_threshold) split the two classes. ROC-AUC is the Mann-Whitney
statistic (ties count one half). Runs are cached under OUT/runs/, keyed by the config and
the tracker code (tanet_jax/tracking/*.py): reruns resume, results of older code are never reused.
Results: OUT/confidence_roc.{json,md}.

    python experiments/bench/confidence_roc.py --root ../shared/data/dev --root ../shared/data/sequences --root /tmp/synthetic_otb --out /tmp/roc
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata
from tqdm import tqdm

from tanet_jax.geometry import rect_iou
from tanet_jax.evaluation.bench import (BenchError, add_data_flags, all_videos, cache_folder, check_tracker,
                                        command_line, md_table, memo, override_flags, parse_args, preload, read_roots,
                                        run_main, track_cached, tracker_config, write_report)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for the boolean labels (NaN when a class is empty)."""
    scores, positive = np.asarray(scores, np.float64), np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)  # average ranks: a tie between classes counts one half
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def frame_labels(boxes: np.ndarray, truth: np.ndarray, positive: float, negative: float) -> tuple[np.ndarray, np.ndarray]:
    """(used, is_positive) per frame: IoU > positive or IoU < negative, frame 0 and unannotated frames out."""
    ious = np.full(len(truth), np.nan)
    annotated = ~np.isnan(truth).any(axis=1)
    ious[annotated] = rect_iou(np.asarray(boxes)[annotated], truth[annotated])
    used = annotated & ((ious > positive) | (ious < negative))
    used[0] = False
    return used, ious > positive


def separation(conf: np.ndarray, good: np.ndarray, threshold: float) -> dict[str, float]:
    """How a threshold splits the classes: lost frames under it (caught) and good frames under it (false alarms)."""
    lost = ~good
    return {"threshold": float(threshold),
            "lost_frames_under": float(np.mean(conf[lost] < threshold)) if lost.any() else float("nan"),
            "good_frames_under": float(np.mean(conf[good] < threshold)) if good.any() else float("nan")}


def summarize(conf: np.ndarray, good: np.ndarray, thresholds: Mapping[str, float]) -> dict[str, Any]:
    """ROC-AUC, class sizes, mean confidences and the thresholds' splits of one pool of frames."""
    return {"roc_auc": roc_auc(conf, good), "good_frames": int(good.sum()), "lost_frames": int((~good).sum()),
            "mean_confidence_good": float(conf[good].mean()) if good.any() else float("nan"),
            "mean_confidence_lost": float(conf[~good].mean()) if (~good).any() else float("nan"),
            "thresholds": {name: separation(conf, good, t) for name, t in thresholds.items()}}


def confidence_roc(roots: Sequence[str], out: Path, *, attention: str = "none", config_file: str | None = None,
                   overrides: Sequence[tuple[str, str]] = (), checkpoint: str | None = None, max_frames: int | None = None,
                   sequences: Sequence[str] | None = None, positive: float = 0.5, negative: float = 0.1,
                   command: str = "") -> dict[str, Any]:
    """Track (cached), label frames by IoU, and write OUT/confidence_roc.{json,md}."""
    from tanet_jax.evaluation.experiment import load_predictor  # JAX imports only when tracking
    from tanet_jax.evaluation.tracker_spec import TrackerSpec
    from tanet_jax.tracking.build import make_tracker

    if not 0 <= negative <= positive <= 1:
        raise BenchError(f"--negative {negative} / --positive {positive}: need 0 <= negative <= positive <= 1")
    config = tracker_config(config_file, list(overrides))
    check_tracker(config, "tracker config")
    try:
        spec = TrackerSpec.create(config, attention, checkpoint)
    except ValueError as e:
        raise BenchError(str(e)) from None
    by_root = read_roots(roots, max_frames, sequences)
    videos = all_videos(by_root)
    folder = cache_folder(out, f"roc-{attention}", {**spec.record(), "max_frames": max_frames})
    predictor = load_predictor(spec, ["joint"])
    thresholds = {f"joint.{k}": float(spec.config["joint"][k]) for k in ("threshold", "update_threshold")}
    pools: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, video in tqdm(videos.items(), desc="confidence", unit="seq"):
        make = lambda video=video: make_tracker(spec.config, attention, boxes=video.boxes, absent=video.absent,  # noqa: E731
                                                predictor=predictor)
        result = track_cached(folder, video, memo(lambda video=video: preload(video)), make)
        used, good = frame_labels(np.asarray(result["boxes"]), video.boxes, positive, negative)
        pools[key] = (np.asarray(result["confidence"], np.float64)[used], good[used])

    def pooled(keys: Sequence[str]) -> dict[str, Any]:
        conf = np.concatenate([pools[k][0] for k in keys])
        good = np.concatenate([pools[k][1] for k in keys])
        return summarize(conf, good, thresholds)

    report = {"attention": attention, "roots": {label: str(r) for label, r in zip(by_root, roots)},
              "frames": {k: len(v) for k, v in videos.items()}, "max_frames": max_frames,
              "config_file": config_file, "overrides": override_flags(overrides), "positive_iou": positive,
              "negative_iou": negative, "overall": pooled(list(videos)),
              "per_root": {r: pooled(list(v)) for r, v in by_root.items()},
              "per_sequence": {k: pooled([k]) for k in videos}}
    write_report(out, "confidence_roc", report, _markdown(report), command)
    return report


def _markdown(r: Mapping[str, Any]) -> str:
    """The report as markdown tables."""
    kind = "local tracker (attention none)" if r["attention"] == "none" else f"joint tracker, attention {r['attention']}"
    names = list(r["overall"]["thresholds"])
    lines = [f"# Confidence ROC: {kind}\n",
             f"Good frames: IoU > {r['positive_iou']:g}; lost frames: IoU < {r['negative_iou']:g} (frame 0, frames "
             "without ground truth and frames in between left out). ROC-AUC of the reported confidence separating them "
             "(1 = always higher when good, 0.5 = no information). Tracker config: "
             f"{r['config_file'] or 'build.default_config()'}" + (f" with {' '.join(r['overrides'])}" if r["overrides"] else "")
             + (f"; sequences cut to {r['max_frames']} frames" if r["max_frames"] else "") + ".\n"]
    headers = ["frames", "ROC-AUC", "good", "lost", "mean conf. good", "mean conf. lost",
               *[f"lost under {n} ({r['overall']['thresholds'][n]['threshold']:g})" for n in names],
               *[f"good under {n}" for n in names]]

    def row(label: str, s: Mapping[str, Any]) -> list[Any]:
        t = s["thresholds"]
        return [label, s["roc_auc"], s["good_frames"], s["lost_frames"], s["mean_confidence_good"],
                s["mean_confidence_lost"], *[t[n]["lost_frames_under"] for n in names],
                *[t[n]["good_frames_under"] for n in names]]

    lines.append(md_table(headers, [row(f"**all ({len(r['frames'])} sequences)**", r["overall"]),
                                    *[row(f"{x} ({r['roots'][x]})", s) for x, s in r["per_root"].items()]]))
    lines.append("\n## Per sequence\n")
    lines.append(md_table(headers, [row(k, s) for k, s in r["per_sequence"].items()]))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="folder for confidence_roc.{json,md} and the run cache")
    p.add_argument("--attention", default="none", help="none (default: the local tracker), correlation, "
                   "groundtruth (an upper bound) or tanet")
    p.add_argument("--checkpoint", help="TANet checkpoint for --attention tanet")
    add_data_flags(p)
    p.add_argument("--positive", type=float, default=0.5, help="good frames: IoU above this (default: 0.5)")
    p.add_argument("--negative", type=float, default=0.1, help="lost frames: IoU below this (default: 0.1)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, run, print the overall figure."""
    args, overrides = parse_args(build_parser(), argv)
    report = confidence_roc(args.root, args.out, attention=args.attention, config_file=args.config,
                            overrides=overrides, checkpoint=args.checkpoint, max_frames=args.max_frames,
                            sequences=args.sequences, positive=args.positive, negative=args.negative,
                            command=command_line(argv, __file__))
    o = report["overall"]
    print(f"ROC-AUC {o['roc_auc']:.3f} over {o['good_frames']} good and {o['lost_frames']} lost frames; "
          + "; ".join(f"{x}: {s['roc_auc']:.3f}" for x, s in report["per_root"].items()))
    print(f"report: {args.out / 'confidence_roc.md'}")
    return report


if __name__ == "__main__":
    run_main(main)
