"""OpenCV's CSRT and KCF (opencv-contrib) on any benchmark `python -m tanet_jax.evaluate` reads,
written through tanet_jax.evaluation.results in the same layout (OUT/<tracker>-<digest>/<seq>.txt,
<seq>_meta.json with fps, tracker.json naming the OpenCV version), then scored by
`experiments/bench/score_results.py` with the benchmark's own rule. Runs in the project's
environment: requirements.txt installs opencv-contrib-python-headless, which has the trackers.

    python experiments/bench/opencv_trackers.py --dataset otb --root ../shared/data/sequences --out results/otb
    python experiments/bench/score_results.py --dataset otb --root ../shared/data/sequences --out results/otb

A tracker that reports failure keeps its previous box for that frame (confidence 0 there, 1
elsewhere). Sequences already tracked are reused (--force tracks again).

--starts N also tracks each sequence from N-1 jittered first boxes (tanet_jax.evaluation.starts,
the same starts as `tracker_sweep.py --starts N`), saved as <seq>~start<j> under OUT/starts/, and
prints each tracker's success AUC per sequence averaged over the N starts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from tanet_jax.data.benchmarks import BENCHMARKS, Warnings, read_benchmark
from tanet_jax.evaluation import metrics
from tanet_jax.evaluation.bench import track_frames
from tanet_jax.evaluation.results import TrackerFolder
from tanet_jax.evaluation.starts import JITTER, mean_over_starts, run_name, start_box
from tanet_jax.tracking.blackbox import opencv_factory

TRACKERS = {"opencv-csrt": "csrt", "opencv-kcf": "kcf"}  # result label -> tanet_jax.tracking.blackbox.OPENCV kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="otb", choices=BENCHMARKS, help="layout of --root (default: otb)")
    parser.add_argument("--root", required=True, help="the benchmark's folder")
    parser.add_argument("--split", default=None, help="default: the split papers report")
    parser.add_argument("--out", required=True, help="results folder (shared with python -m tanet_jax.evaluate)")
    parser.add_argument("--force", action="store_true", help="track again where results exist")
    parser.add_argument("--starts", type=int, default=1, help="also track from jittered first boxes (default 1: none)")
    parser.add_argument("--jitter", type=float, default=JITTER,
                        help=f"largest jitter, a fraction of the box size (default {JITTER})")
    args = parser.parse_args()
    if args.starts < 1:
        parser.error(f"--starts {args.starts}: give at least 1")
    try:
        makers = {label: opencv_factory(kind) for label, kind in TRACKERS.items()}
    except ValueError as e:  # an OpenCV without the contrib trackers
        sys.exit(f"error: {e}")
    warnings = Warnings(skip_failed=True)
    videos = list(read_benchmark(args.dataset, Path(args.root), args.split, warnings))
    for name, message in warnings.failed.items():
        print(f"skipped {name}: {message}")
    for label, make in makers.items():
        record = {"tracker": label, "opencv": cv2.__version__, "on_failure": "keep the previous box"}
        folder = _folder(args.out, label, record)
        jittered = (_folder(str(Path(args.out) / "starts"), label, {**record, "jitter": args.jitter})
                    if args.starts > 1 else None)  # apart: score_results.py scores OUT's folders
        aucs: dict[str, float] = {}
        for video in videos:
            for j in range(args.starts):
                where, name = (folder if j == 0 else jittered), run_name(video.name, j)
                if not where.has(name) or args.force:
                    _track(make, video, start_box(video.boxes[0], j, args.jitter), where, name, label)
                boxes = where.load(name)["boxes"]
                score = metrics.score_benchmark(args.dataset, {video.name: np.asarray(boxes)}, {video.name: video})
                aucs[name] = score["per_sequence"][video.name].get("success_auc", np.nan)
        if args.starts > 1:
            means = mean_over_starts(aucs)
            print(f"{label}: success AUC averaged over {args.starts} starts: mean {np.mean(list(means.values())):.3f}; "
                  + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))


def _folder(out: str, label: str, record: dict) -> TrackerFolder:
    """OUT/<label>-<digest of record>/."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]
    return TrackerFolder(Path(out), label, record, digest)


def _track(make: Callable[[], Any], video: Any, init: np.ndarray, folder: TrackerFolder, name: str,
           label: str) -> None:
    """One OpenCV tracker over one sequence from `init`, saved as `name`."""
    boxes, found, times = track_frames(make, [cv2.imread(str(f)) for f in video.frames], init)
    fps = (len(boxes) - 1) / max(times[1:].sum(), 1e-9)
    folder.save(name, boxes, found.astype(float), np.zeros(len(boxes), bool), fps, times, init=init)
    print(f"{label:12s} {name:16s} {fps:7.1f} fps")


if __name__ == "__main__":
    main()
